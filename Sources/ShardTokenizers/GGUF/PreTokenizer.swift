/// How byte-level BPE text is cut into words before merging: the `tokenizer.ggml.pre` families of llama.cpp.
///
/// Each family is a hand-written scanner equivalent to the regular expressions llama.cpp applies in order
/// (`llm_tokenizer_bpe`); the scanners work on code points and return word lengths in code points.
public enum PreTokenizer: String, Sendable, CaseIterable {
    /// GPT-2: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
    case gpt2
    /// Every `\p{N}` alone, then GPT-2 (StarCoder, SmolLM, Command-R ...).
    case digitsThenGPT2 = "digits-gpt2"
    /// Llama 3: case-insensitive contractions, `[^\r\n\p{L}\p{N}]?\p{L}+`, `\p{N}{1,3}`, newline-aware runs.
    case llama3
    /// Qwen 2: as Llama 3 with single digits.
    case qwen2
    /// Qwen 3.5: as Qwen 2, with combining marks (`\p{M}`) joining letter runs.
    case qwen35
    /// GPT-4o (o200k): letter runs split at ASCII case changes, `\p{N}{1,3}` (Llama 4, gpt-oss ...).
    case gpt4o
    /// Mistral's Tekken: as GPT-4o without contractions, with single digits.
    case tekken
    /// llama.cpp's fallback when a file names no pre-tokenizer: punctuation runs, GPT-2, number runs,
    /// then groups of three ASCII digits.
    case legacyDefault = "default"

    /// The family and llama.cpp's per-name settings for a `tokenizer.ggml.pre` value, or `nil` when unsupported.
    static func settings(forGGUFName name: String?) -> (PreTokenizer, ignoreMerges: Bool, defaultAddBOS: Bool?)? {
        switch name ?? "" {
        case "", "default": (.legacyDefault, false, nil)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
             "modern-bert", "mpt", "olmo", "jais", "exaone4", "trillion", "granite-docling":
            (.gpt2, false, nil)
        case "starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b", "mellum2":
            (.digitsThenGPT2, false, nil)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            (.llama3, true, true)
        case "dbrx", "smaug-bpe", "chatglm-bpe":
            (.llama3, false, nil)
        case "glm4", "glm5":
            (.llama3, true, nil)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "megrez", "stablelm2", "hunyuan", "solar-open":
            (.qwen2, false, nil)
        case "qwen35":
            (.qwen35, false, nil)
        case "gpt-4o", "llama4", "kanana2", "talkie", "minimax-m2":
            (.gpt4o, false, nil)
        case "tekken":
            (.tekken, true, true)
        default: nil
        }
    }

    /// Splits `codepoints` into words; returns their lengths in code points, summing to `codepoints.count`.
    func split(_ codepoints: [UInt32]) -> [Int] {
        let classes = codepoints.map(CodepointClass.of)
        let whole = codepoints.isEmpty ? [] : [codepoints.count]
        switch self {
        case .gpt2:
            return WordScanner.gpt2(codepoints, classes, whole)
        case .digitsThenGPT2:
            let digits = WordScanner.isolateEach(classes, whole) { $0.contains(.number) }
            return WordScanner.gpt2(codepoints, classes, digits)
        case .llama3:
            return WordScanner.llama3(codepoints, classes, whole, maxDigits: 3)
        case .qwen2:
            return WordScanner.llama3(codepoints, classes, whole, maxDigits: 1)
        case .qwen35:
            return WordScanner.llama3(codepoints, classes, whole, maxDigits: 1, letters: [.letter, .mark])
        case .gpt4o:
            return WordScanner.gpt4o(codepoints, classes, whole)
        case .tekken:
            return WordScanner.gpt4o(codepoints, classes, whole, contractions: false, maxDigits: 1)
        case .legacyDefault:
            let punctuation = WordScanner.runs(classes, whole) { index in
                classes[index].contains(.punctuation) || Self.defaultExtraSymbols.contains(codepoints[index])
            }
            let words = WordScanner.gpt2(codepoints, classes, punctuation)
            let numbers = WordScanner.runs(classes, words) { classes[$0].contains(.number) }
            return WordScanner.asciiDigitTriples(codepoints, numbers)
        }
    }

    /// `$ + < = > ^ ~ |`: the symbols the default pre-tokenizer groups with punctuation.
    private static let defaultExtraSymbols: Set<UInt32> = [0x24, 0x2B, 0x3C, 0x3D, 0x3E, 0x5E, 0x7E, 0x7C]
}
