import Foundation

/// What opening a model reports, in order: the file was parsed, its bytes are being read in, it is ready.
public enum ModelLoadProgress: Sendable {
    /// The header was parsed: the file's path, size and tensor count.
    case opened(path: String, bytes: Int, tensors: Int)
    /// `done` of `total` bytes have been read into memory.
    case reading(done: Int, total: Int)
    /// The model and its tokenizer are ready, after `seconds`.
    case ready(seconds: Double)
}

extension GGUFFile {
    /// Touches every page of the mapping once, so the first requests do not stall on disk reads, calling
    /// `progress(done, total)` about every 16 MiB.
    public func readIntoMemory(progress: (_ done: Int, _ total: Int) -> Void) {
        let bytes = mapping.bytes
        let total = bytes.count, page = 4096, chunk = 16 << 20
        var checksum: UInt8 = 0
        var offset = 0
        while offset < total {
            let end = min(offset + chunk, total)
            var position = offset
            while position < end {
                checksum &+= bytes[position]
                position += page
            }
            offset = end
            progress(offset, total)
        }
        // Keep the reads: the optimiser may not drop them.
        withExtendedLifetime(checksum) {}
    }
}
