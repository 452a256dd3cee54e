import Foundation
@testable import ShardEngine

/// Writes small GGUF files for tests, so that every field can be set, including wrong ones.
struct GGUFWriter {
    enum Value {
        case uint32(UInt32), int32(Int32), float32(Float), bool(Bool), string(String)
        case stringArray([String]), float32Array([Float]), int32Array([Int32])
        /// A value with an explicit (possibly invalid) type code and raw payload.
        case raw(type: UInt32, payload: [UInt8])
    }

    struct Tensor {
        var name: String
        var dimensions: [UInt64]
        var type: UInt32
        var data: [UInt8]
        /// Overrides the computed data offset.
        var offsetOverride: UInt64?
    }

    var magic: [UInt8] = Array("GGUF".utf8)
    var version: UInt32 = 3
    var metadata: [(String, Value)] = []
    var tensors: [Tensor] = []
    /// Overrides the tensor count written in the header.
    var tensorCountOverride: UInt64?
    var alignment = 32

    mutating func addF32(_ name: String, dimensions: [Int], values: [Float]) {
        let data = values.withUnsafeBufferPointer { Array(UnsafeRawBufferPointer($0)) }
        tensors.append(Tensor(name: name, dimensions: dimensions.map(UInt64.init), type: 0, data: data))
    }

    func bytes() -> [UInt8] {
        var out: [UInt8] = magic
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func string(_ s: String) { u64(UInt64(s.utf8.count)); out += Array(s.utf8) }
        u32(version)
        u64(tensorCountOverride ?? UInt64(tensors.count))
        u64(UInt64(metadata.count))
        for (key, value) in metadata {
            string(key)
            switch value {
            case let .uint32(v): u32(4); u32(v)
            case let .int32(v): u32(5); u32(UInt32(bitPattern: v))
            case let .float32(v): u32(6); u32(v.bitPattern)
            case let .bool(v): u32(7); out.append(v ? 1 : 0)
            case let .string(v): u32(8); string(v)
            case let .stringArray(v): u32(9); u32(8); u64(UInt64(v.count)); v.forEach(string)
            case let .float32Array(v): u32(9); u32(6); u64(UInt64(v.count)); v.forEach { u32($0.bitPattern) }
            case let .int32Array(v): u32(9); u32(5); u64(UInt64(v.count)); v.forEach { u32(UInt32(bitPattern: $0)) }
            case let .raw(type, payload): u32(type); out += payload
            }
        }
        var offset: UInt64 = 0
        var offsets: [UInt64] = []
        for tensor in tensors {
            offsets.append(tensor.offsetOverride ?? offset)
            offset += UInt64((tensor.data.count + alignment - 1) / alignment * alignment)
        }
        for (tensor, tensorOffset) in zip(tensors, offsets) {
            string(tensor.name)
            u32(UInt32(tensor.dimensions.count))
            tensor.dimensions.forEach(u64)
            u32(tensor.type)
            u64(tensorOffset)
        }
        while out.count % alignment != 0 { out.append(0) }
        for tensor in tensors {
            out += tensor.data
            while out.count % alignment != 0 { out.append(0) }
        }
        return out
    }

    func write() throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString).gguf")
        try Data(bytes()).write(to: url)
        return url.path
    }

    /// A valid random Llama model with a tiny vocabulary (for shape and corruption tests).
    static func tinyLlama(blockCount: Int = 2, dim: Int = 32, heads: Int = 4, kvHeads: Int = 2, hidden: Int = 64,
                          vocab: Int = 40, context: Int = 64, tiedOutput: Bool = true, seed: UInt64 = 7) -> GGUFWriter {
        var writer = GGUFWriter()
        writer.metadata = [
            ("general.architecture", .string("llama")),
            ("llama.context_length", .uint32(UInt32(context))),
            ("llama.embedding_length", .uint32(UInt32(dim))),
            ("llama.block_count", .uint32(UInt32(blockCount))),
            ("llama.feed_forward_length", .uint32(UInt32(hidden))),
            ("llama.attention.head_count", .uint32(UInt32(heads))),
            ("llama.attention.head_count_kv", .uint32(UInt32(kvHeads))),
            ("llama.attention.layer_norm_rms_epsilon", .float32(1e-5)),
            ("llama.rope.freq_base", .float32(10000)),
        ]
        var random = SeededRandom(seed: seed)
        func matrix(_ rows: Int, _ columns: Int) -> [Float] {
            (0 ..< rows * columns).map { _ in random.normal() * 0.3 }
        }
        writer.addF32("token_embd.weight", dimensions: [dim, vocab], values: matrix(vocab, dim))
        let kvWidth = dim / heads * kvHeads
        for layer in 0 ..< blockCount {
            let p = "blk.\(layer)."
            writer.addF32(p + "attn_norm.weight", dimensions: [dim], values: Array(repeating: 1, count: dim))
            writer.addF32(p + "attn_q.weight", dimensions: [dim, dim], values: matrix(dim, dim))
            writer.addF32(p + "attn_k.weight", dimensions: [dim, kvWidth], values: matrix(kvWidth, dim))
            writer.addF32(p + "attn_v.weight", dimensions: [dim, kvWidth], values: matrix(kvWidth, dim))
            writer.addF32(p + "attn_output.weight", dimensions: [dim, dim], values: matrix(dim, dim))
            writer.addF32(p + "ffn_norm.weight", dimensions: [dim], values: Array(repeating: 1, count: dim))
            writer.addF32(p + "ffn_gate.weight", dimensions: [dim, hidden], values: matrix(hidden, dim))
            writer.addF32(p + "ffn_up.weight", dimensions: [dim, hidden], values: matrix(hidden, dim))
            writer.addF32(p + "ffn_down.weight", dimensions: [hidden, dim], values: matrix(dim, hidden))
        }
        writer.addF32("output_norm.weight", dimensions: [dim], values: Array(repeating: 1, count: dim))
        if !tiedOutput { writer.addF32("output.weight", dimensions: [dim, vocab], values: matrix(vocab, dim)) }
        return writer
    }
}

/// Deterministic normal samples for test weights.
struct SeededRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func uniform() -> Float { Float(next() >> 40) / Float(1 << 24) }
    mutating func normal() -> Float {
        let u1 = max(uniform(), 1e-7), u2 = uniform()
        return (-2 * log(u1)).squareRoot() * cos(2 * .pi * u2)
    }
}
