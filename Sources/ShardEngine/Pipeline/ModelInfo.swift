import Foundation

/// What `/models` and the command line say about a model file: family, size, quantization, context.
public struct ModelInfo: Sendable, Equatable {
    /// `general.architecture` (`llama`, `qwen2`, `gemma3`).
    public var architecture: String
    /// `general.name`, when the file has one.
    public var name: String?
    /// Number of weights in the file (all tensors' elements).
    public var parameterCount: Int
    /// The quantization as model hubs name files: `general.file_type` (`Q4_K_M`, `Q8_0`, ...), else the type most
    /// matrix weights have.
    public var quantization: String
    /// Trained context length.
    public var contextLength: Int
    /// Tensors per element type (`"Q4_K": 27, ...`).
    public var tensorTypes: [String: Int]

    /// Reads the description of `gguf`.
    public init(gguf: GGUFFile, hyperparameters: LlamaHyperparameters) {
        architecture = hyperparameters.architecture.rawValue
        name = gguf.metadata["general.name"]?.stringValue
        parameterCount = gguf.tensors.reduce(0) { $0 + $1.elementCount }
        contextLength = hyperparameters.contextLength
        var types: [String: Int] = [:]
        var matrixWeights: [GGMLType: Int] = [:]
        for tensor in gguf.tensors {
            types[tensor.type.name, default: 0] += 1
            if tensor.dimensions.count == 2 { matrixWeights[tensor.type, default: 0] += tensor.elementCount }
        }
        tensorTypes = types
        let dominant = matrixWeights.max {
            $0.value < $1.value || ($0.value == $1.value && $0.key.rawValue > $1.key.rawValue)
        }
        quantization = gguf.metadata["general.file_type"]?.intValue.flatMap { Self.fileTypeNames[$0] }
            ?? dominant?.key.name ?? "unknown"
    }

    /// llama.cpp's `llama_ftype` values and names.
    static let fileTypeNames: [Int: String] = [
        0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S",
        12: "Q3_K_M", 13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M", 18: "Q6_K",
        19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS", 23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL",
        26: "IQ3_S", 27: "IQ3_M", 28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16", 36: "TQ1_0",
        37: "TQ2_0",
    ]

    /// A short human figure: `135M`, `1.2B`.
    public var parameterLabel: String {
        parameterCount >= 1_000_000_000 ? String(format: "%.1fB", Double(parameterCount) / 1e9)
            : "\(Int((Double(parameterCount) / 1e6).rounded()))M"
    }
}

extension GGMLType {
    /// The type's name as GGML prints it (`Q4_K`, `F32`).
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .f64: "F64"
        case .i8: "I8"
        case .i16: "I16"
        case .i32: "I32"
        case .i64: "I64"
        default: String(describing: self).uppercased()
        }
    }
}
