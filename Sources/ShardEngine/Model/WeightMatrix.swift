import CShardKernels

/// A weight matrix `rows x columns` (output x input), viewed in place in the mapped model file, or owned when it
/// had to be converted (F16 becomes F32 at load).
struct WeightMatrix: @unchecked Sendable {
    enum Storage {
        case f32(UnsafePointer<Float>)
        case q8_0(UnsafeRawPointer)
    }

    let name: String
    let rows: Int
    let columns: Int
    let storage: Storage
    /// Keeps converted data alive; `nil` when the storage points into the mapping.
    private let owner: AnyObject?

    /// Reads tensor `name` with GGML dimensions `[columns, rows]` from `gguf`.
    init(_ name: String, rows: Int, columns: Int, gguf: GGUFFile) throws(EngineError) {
        guard let info = gguf.tensorsByName[name], info.dimensions == [columns, rows] else {
            throw .tensorShape(name: name, expected: [columns, rows], found: gguf.tensorsByName[name]?.dimensions)
        }
        self.name = name
        self.rows = rows
        self.columns = columns
        let data = gguf.tensorData(info)
        guard let base = data.baseAddress else { throw .tensorShape(name: name, expected: [columns, rows], found: []) }
        switch info.type {
        case .f32:
            storage = .f32(base.assumingMemoryBound(to: Float.self))
            owner = nil
        case .q8_0:
            storage = .q8_0(base)
            owner = nil
        case .f16:
            let buffer = FloatBuffer(count: rows * columns)
            shard_f16_to_f32_row(base.assumingMemoryBound(to: UInt16.self), buffer.pointer, Int64(rows * columns))
            storage = .f32(UnsafePointer(buffer.pointer))
            owner = buffer
        default:
            throw .unsupportedTensorType(name: name, type: info.type)
        }
    }

    /// Bytes read from memory for one full pass over the matrix.
    var byteCount: Int {
        switch storage {
        case .f32: rows * columns * 4
        case .q8_0: rows * columns / 32 * 34
        }
    }

    /// Copies row `index` into `destination` as floats (embedding lookup).
    func copyRow(_ index: Int, into destination: UnsafeMutablePointer<Float>) {
        switch storage {
        case let .f32(pointer): destination.update(from: pointer + index * columns, count: columns)
        case let .q8_0(pointer):
            shard_dequantize_row_q8_0(pointer + index * columns / 32 * 34, destination, Int64(columns))
        }
    }
}

/// A heap buffer of floats with a stable address.
final class FloatBuffer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int
    init(count: Int) {
        self.count = count
        pointer = .allocate(capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }
    deinit { pointer.deallocate() }
}
