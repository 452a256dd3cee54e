/// A value guarded by a ``Lock``; every access goes through ``withLock(_:)``. The lock type of the server, the
/// client and the sidecar's small shared tables.
public final class Locked<Value: Sendable>: @unchecked Sendable {
    // @unchecked: `value` is only read or written holding `lock`.
    private let lock = Lock()
    private var value: Value

    /// Guards `value`.
    public init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access. Not reentrant: never call back into the same lock from `body`.
    public func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure) -> Result {
        try lock.withLock { () throws(Failure) -> Result in try body(&value) }
    }
}
