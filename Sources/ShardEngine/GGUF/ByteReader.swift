/// A bounds-checked little-endian cursor over a byte buffer. Every read checks the remaining length first.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer
    private(set) var offset: Int = 0

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw .truncated(what()) }
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: T.self)
        offset += MemoryLayout<T>.size
        return T(littleEndian: value)
    }

    mutating func readString(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let length = try read(UInt64.self, what())
        guard length <= UInt64(remaining) else {
            throw .absurdValue("\(what()): string length \(length) exceeds the \(remaining) bytes left")
        }
        let slice = UnsafeRawBufferPointer(rebasing: bytes[offset ..< offset + Int(length)])
        offset += Int(length)
        return String(decoding: slice, as: UTF8.self)
    }

    /// Reads a count and checks that `count * minimumElementBytes` can still fit in the file.
    mutating func readCount(_ what: @autoclosure () -> String, minimumElementBytes: Int) throws(GGUFError) -> Int {
        let count = try read(UInt64.self, what())
        guard count <= UInt64(remaining / max(minimumElementBytes, 1)) else {
            throw .absurdValue("\(what()): count \(count) cannot fit in the \(remaining) bytes left")
        }
        return Int(count)
    }
}
