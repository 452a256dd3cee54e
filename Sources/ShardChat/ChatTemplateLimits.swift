/// Bounds that keep a hostile or broken template from hanging the process or exhausting memory.
///
/// The defaults are far above what any published chat template needs for a long conversation.
public struct ChatTemplateLimits: Sendable, Hashable {
    /// The most UTF-8 bytes the rendered prompt (and any single string built while rendering) may hold.
    public var maxOutputBytes: Int
    /// The most evaluation steps (statements, loop iterations, expressions) one render may take.
    public var maxSteps: Int
    /// The deepest nesting of blocks and expressions, while parsing and while rendering (macro calls included).
    public var maxDepth: Int
    /// The most elements a list built while rendering (`range`, `+`, `*`) may hold.
    public var maxListLength: Int

    /// Bounds with the given values.
    public init(maxOutputBytes: Int = 8 << 20, maxSteps: Int = 2_000_000, maxDepth: Int = 200,
        maxListLength: Int = 1_000_000)
    {
        self.maxOutputBytes = maxOutputBytes
        self.maxSteps = maxSteps
        self.maxDepth = maxDepth
        self.maxListLength = maxListLength
    }

    /// 8 MiB of output, two million steps, nesting 200 deep, lists of a million elements.
    public static let `default` = ChatTemplateLimits()
}
