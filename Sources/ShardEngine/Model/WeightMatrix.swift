import CShardKernels

/// A weight matrix `rows x columns` (output x input), viewed in place in the mapped model file, or owned when it
/// had to be converted (F16 and BF16 become F32 at load).
struct WeightMatrix: @unchecked Sendable {
    enum Storage {
        /// Row-major floats.
        case f32(UnsafePointer<Float>)
        /// Row-major GGML blocks of a type `shard_matmul_quantized` accepts (Q4_0 ... Q8_0, Q2_K ... Q6_K),
        /// `WeightMatrix.rowBytes` bytes a row.
        case quantized(GGMLType, UnsafeRawPointer)
    }

    let name: String
    let rows: Int
    let columns: Int
    let storage: Storage
    /// Bytes of one row as stored.
    let rowBytes: Int
    /// Keeps converted data alive; `nil` when the storage points into the mapping.
    private let owner: AnyObject?

    /// Reads tensor `name` with GGML dimensions `[columns, rows]` from `gguf`.
    ///
    /// - Throws: ``EngineError/tensorShape(name:expected:found:)`` for a missing or misshapen tensor,
    ///   ``EngineError/unsupportedTensorType(name:type:)`` for a type the kernels cannot multiply (IQ*, TQ*,
    ///   integer types, F64, Q8_1 and Q8_K weights), ``EngineError/invalidModel(_:)`` when a row is not a whole
    ///   number of blocks.
    init(_ name: String, rows: Int, columns: Int, gguf: GGUFFile) throws(EngineError) {
        guard let info = gguf.tensorsByName[name], info.dimensions == [columns, rows] else {
            throw .tensorShape(name: name, expected: [columns, rows], found: gguf.tensorsByName[name]?.dimensions)
        }
        self.name = name
        self.rows = rows
        self.columns = columns
        let data = gguf.tensorData(info)
        guard let base = data.baseAddress else { throw .tensorShape(name: name, expected: [columns, rows], found: []) }
        let code = info.type.kernelCode
        switch info.type {
        case .f32:
            storage = .f32(base.assumingMemoryBound(to: Float.self))
            rowBytes = columns * MemoryLayout<Float>.size
            owner = nil
        case .f16, .bf16:
            let buffer = FloatBuffer(count: rows * columns)
            shard_dequantize_row(code, base, buffer.pointer, Int64(rows * columns))
            storage = .f32(UnsafePointer(buffer.pointer))
            rowBytes = columns * MemoryLayout<Float>.size
            owner = buffer
        default:
            guard shard_weight_type_supported(code) == 1 else {
                throw .unsupportedTensorType(name: name, type: info.type)
            }
            let bytes = shard_row_bytes(code, Int64(columns))
            guard bytes > 0, Int(bytes) * rows == data.count else {
                throw .invalidModel(.absurdValue("tensor \(name): row length \(columns) is not a whole number of "
                    + "\(info.type) blocks of \(info.type.blockSize) values"))
            }
            storage = .quantized(info.type, base)
            rowBytes = Int(bytes)
            owner = nil
        }
    }

    /// Bytes read from memory for one full pass over the matrix.
    var byteCount: Int { rows * rowBytes }

    /// Copies row `index` into `destination` as floats (embedding lookup).
    func copyRow(_ index: Int, into destination: UnsafeMutablePointer<Float>) {
        precondition(index >= 0 && index < rows, "row \(index) outside 0..<\(rows) of \(name)")
        switch storage {
        case let .f32(pointer): destination.update(from: pointer + index * columns, count: columns)
        case let .quantized(type, pointer):
            shard_dequantize_row(type.kernelCode, pointer + index * rowBytes, destination, Int64(columns))
        }
    }
}

extension GGMLType {
    /// The type number the C kernels take (GGML's own numbering).
    var kernelCode: Int32 { Int32(rawValue) }
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
