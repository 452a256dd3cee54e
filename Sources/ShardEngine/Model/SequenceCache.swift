/// Identifies one sequence (one generation request) inside a stage.
public struct SequenceID: Hashable, Sendable, CustomStringConvertible {
    /// The raw value; unique among the sequences of one pipeline.
    public let rawValue: UInt64
    /// Wraps a raw value.
    public init(_ rawValue: UInt64) { self.rawValue = rawValue }
    public var description: String { "seq-\(rawValue)" }
}

/// The key/value cache of one sequence for the layers of one stage: per layer, `count` rows of `kvWidth` floats.
final class SequenceCache {
    private(set) var count = 0
    private var capacity = 0
    private(set) var keys: [UnsafeMutablePointer<Float>]
    private(set) var values: [UnsafeMutablePointer<Float>]
    let kvWidth: Int

    init(layerCount: Int, kvWidth: Int) {
        self.kvWidth = kvWidth
        keys = (0 ..< layerCount).map { _ in .allocate(capacity: 1) }
        values = (0 ..< layerCount).map { _ in .allocate(capacity: 1) }
    }

    deinit {
        for pointer in keys + values { pointer.deallocate() }
    }

    /// Makes room for `newCount` positions, growing geometrically.
    func reserve(_ newCount: Int) {
        guard newCount > capacity else { return }
        let newCapacity = max(newCount, capacity * 2, 16)
        for layer in keys.indices {
            keys[layer] = grow(keys[layer], to: newCapacity)
            values[layer] = grow(values[layer], to: newCapacity)
        }
        capacity = newCapacity
    }

    private func grow(_ old: UnsafeMutablePointer<Float>, to newCapacity: Int) -> UnsafeMutablePointer<Float> {
        let fresh = UnsafeMutablePointer<Float>.allocate(capacity: newCapacity * kvWidth)
        fresh.update(from: old, count: count * kvWidth)
        old.deallocate()
        return fresh
    }

    /// Records that `added` positions were written after the current end.
    func commit(_ added: Int) { count += added }

    /// Bytes held by this cache.
    var byteCount: Int { capacity * kvWidth * 4 * keys.count * 2 }
}
