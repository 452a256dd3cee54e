import Foundation
import Testing
import ShardEngine
import ShardTestSupport
import ShardTokenizers

/// Token ids llama.cpp produced for the committed corpus, written by
/// `scripts/reference/make_tokenizer_references.py`.
struct TokenizationReference: Decodable {
    struct Case: Decodable { var text: String; var special: [TokenID]; var plain: [TokenID] }
    var model: String
    var model_file: String
    var model_sha256: String
    var llama_cpp_python_version: String
    var end_of_generation: [TokenID]
    var cases: [Case]

    static func load(_ model: String) throws -> TokenizationReference {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let url = root.appendingPathComponent("Fixtures/reference/tokenization-\(model).json")
        return try JSONDecoder().decode(TokenizationReference.self, from: Data(contentsOf: url))
    }
}

@Suite("GGUF tokenizers agree with llama.cpp on the reference corpus")
struct TokenizerParityTests {
    static let models = ["smollm2", "gemma3", "smollm2-llama-bpe", "smollm2-qwen2", "smollm2-qwen35", "smollm2-gpt-4o", "smollm2-tekken",
                         "smollm2-gpt-2",
                         "smollm2-default"]

    /// A tokenizer per model, loaded once: Gemma's vocabulary has 262,144 entries.
    static let cache = TokenizerCache()

    @Test(arguments: models)
    func corpusMatchesLlamaCpp(_ model: String) throws {
        let reference = try TokenizationReference.load(model)
        let tokenizer = try Self.cache.tokenizer(reference.model_file)
        var matched = 0
        for testCase in reference.cases {
            let special = tokenizer.encode(testCase.text, addBOS: true, parseSpecial: true)
            let plain = tokenizer.encode(testCase.text, addBOS: true, parseSpecial: false)
            #expect(special == testCase.special, "parse_special=true: \(testCase.text.debugDescription)")
            #expect(plain == testCase.plain, "parse_special=false: \(testCase.text.debugDescription)")
            if special == testCase.special, plain == testCase.plain { matched += 1 }
        }
        print("\(model): \(matched)/\(reference.cases.count) corpus strings identical to llama.cpp")
        #expect(matched == reference.cases.count)
    }

    @Test(arguments: ["smollm2", "gemma3"])
    func referenceIsForTheCachedModelFile(_ model: String) throws {
        let reference = try TokenizationReference.load(model)
        // Throws, naming the command that remakes it, when the cached file is not the one the reference was made from.
        _ = try RealModels.path(reference.model_file, sha256: reference.model_sha256)
    }

    @Test(arguments: models)
    func plainTextDecodesBackToTheInput(_ model: String) throws {
        let reference = try TokenizationReference.load(model)
        let tokenizer = try Self.cache.tokenizer(reference.model_file)
        for testCase in reference.cases {
            let ids = tokenizer.encode(testCase.text, addBOS: false, parseSpecial: false)
            #expect(try tokenizer.decode(ids) == testCase.text, "\(testCase.text.debugDescription)")
        }
    }

    @Test(arguments: models)
    func streamingDecodeEqualsFullDecode(_ model: String) throws {
        let reference = try TokenizationReference.load(model)
        let tokenizer = try Self.cache.tokenizer(reference.model_file)
        for testCase in reference.cases {
            let ids = tokenizer.encode(testCase.text, addBOS: true, parseSpecial: true)
            var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
            var streamed = ""
            for id in ids { streamed += try detokenizer.push(id) }
            streamed += detokenizer.finish()
            #expect(streamed == (try tokenizer.decode(ids)), "\(testCase.text.debugDescription)")
        }
    }

    @Test(arguments: ["smollm2", "gemma3"])
    func serializedVocabularyRebuildsTheSameTokenizer(_ model: String) throws {
        let reference = try TokenizationReference.load(model)
        let tokenizer = try Self.cache.tokenizer(reference.model_file)
        let bytes = tokenizer.vocabulary.serialized()
        let copy = try GGUFVocabulary(serialized: bytes).makeTokenizer()
        #expect(copy.vocabulary == tokenizer.vocabulary)
        #expect(copy.fingerprint == tokenizer.fingerprint)
        #expect(copy.fingerprint == Fingerprint.short(bytes))
        for testCase in reference.cases {
            #expect(copy.encode(testCase.text, addBOS: true, parseSpecial: true) == testCase.special)
        }
    }

    @Test(arguments: models)
    func endOfGenerationIDsFollowLlamaCpp(_ model: String) throws {
        let reference = try TokenizationReference.load(model)
        let tokenizer = try Self.cache.tokenizer(reference.model_file)
        #expect(tokenizer.endOfGenerationIDs == Set(reference.end_of_generation))
    }
}

/// Loads each model's tokenizer once for all tests. A missing model file is an error naming the command that
/// fetches or makes it (``RealModels``), never a skip.
final class TokenizerCache: @unchecked Sendable {
    private let lock = NSLock()
    private var loaded: [String: any GGUFVocabularyTokenizer] = [:]

    func tokenizer(_ relativePath: String) throws -> any GGUFVocabularyTokenizer {
        let path = try RealModels.path(relativePath)
        lock.lock()
        defer { lock.unlock() }
        if let tokenizer = loaded[path] { return tokenizer }
        let tokenizer = try ModelBundle.embeddedTokenizer(of: GGUFFile(path: path))
        loaded[path] = tokenizer
        return tokenizer
    }
}

@Suite("GGUF tokenizer speed")
struct TokenizerSpeedTests {
    /// About 8 KB of mixed text: prose, code, numbers, CJK, emoji and chat markup.
    static let text = String(repeating: "<|im_start|>user\nThe quick brown fox, it's 12345 times faster! "
        + "def f(x):\n    return x ** 2  # 中文 🙏🏽\n<end_of_turn>\n", count: 80)

    @Test(arguments: ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"])
    func kilobytesTokenizeInMilliseconds(_ file: String) throws {
        let tokenizer = try TokenizerParityTests.cache.tokenizer(file)
        let clock = ContinuousClock()
        var ids: [TokenID] = []
        let elapsed = clock.measure { ids = tokenizer.encode(Self.text, addBOS: true, parseSpecial: true) }
        print("\(file): \(Self.text.utf8.count) bytes -> \(ids.count) tokens in \(elapsed)")
        #expect(try tokenizer.decode(tokenizer.encode(Self.text, addBOS: false, parseSpecial: false)) == Self.text)
        // Debug builds are several times slower than release; this bound still catches quadratic work.
        #expect(elapsed < .milliseconds(500))
    }
}

@Suite("GGUF tokenizers on random text")
struct TokenizerRandomTextTests {
    /// Scalars from every class the pre-tokenizers distinguish, plus special-token fragments.
    static let alphabet: [String] = ["a", "Z", "é", "ß", "中", "한", "ع", "न", "ा", "1", "٣", "½", " ", "  ", "\n", "\r",
        "\t", "\u{3000}", "'", "'s", "'LL", "!", "?", ".", "$", "+", "<", ">", "|", "_", "🙏", "🏽", "\u{200D}",
        "\u{0301}", "<|im", "_start|>", "<start_of_turn>", "\u{FFFD}", "\u{10FFFF}", "\u{E000}", "0x", "…"]

    @Test(arguments: ["SmolLM2-135M-Instruct.Q4_1.gguf", "gemma-3-270m-q4_k_m.gguf"])
    func randomTextRoundTripsAndStreamsExactly(_ file: String) throws {
        let tokenizer = try TokenizerParityTests.cache.tokenizer(file)
        var generator = SplitMix64(seed: 42)
        for _ in 0 ..< 200 {
            let length = Int(generator.next() % 40)
            let text = (0 ..< length).map { _ in Self.alphabet[Int(generator.next() % UInt64(Self.alphabet.count))] }
                .joined()
            let ids = tokenizer.encode(text, addBOS: false, parseSpecial: false)
            #expect(try tokenizer.decode(ids) == text, "\(text.debugDescription)")
            var detokenizer = StreamingDetokenizer(tokenizer: tokenizer)
            var streamed = ""
            for id in ids { streamed += try detokenizer.push(id) }
            streamed += detokenizer.finish()
            #expect(streamed == text, "\(text.debugDescription)")
        }
    }
}

/// A small deterministic generator for test inputs.
struct SplitMix64 {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
