/// One entry of a GGUF tensor directory.
public struct GGUFTensorInfo: Sendable, Equatable {
    /// The tensor's name, such as `blk.0.attn_q.weight`.
    public let name: String
    /// Dimensions, innermost first (GGML order): a `rows x columns` matrix is `[columns, rows]`.
    public let dimensions: [Int]
    /// The element type.
    public let type: GGMLType
    /// Byte offset of the data from the start of the file.
    public let fileOffset: Int
    /// Size of the data in bytes.
    public let byteCount: Int

    /// Total number of elements.
    public var elementCount: Int { dimensions.reduce(1, *) }
}
