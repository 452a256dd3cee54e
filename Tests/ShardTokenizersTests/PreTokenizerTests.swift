import Testing
@testable import ShardTokenizers

@Suite("Pre-tokenizers split words like llama.cpp's expressions")
struct PreTokenizerTests {
    private func words(_ text: String, _ preTokenizer: PreTokenizer) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var result: [String] = [], start = 0
        for length in preTokenizer.split(scalars.map(\.value)) {
            var word = String.UnicodeScalarView()
            word.append(contentsOf: scalars[start ..< start + length])
            result.append(String(word))
            start += length
        }
        return result
    }

    @Test func gpt2() {
        #expect(words("Hello world's  test 123", .gpt2) == ["Hello", " world", "'s", " ", " test", " 123"])
        #expect(words("trailing  ", .gpt2) == ["trailing", "  "])
        #expect(words("I'M", .gpt2) == ["I", "'", "M"])
    }

    @Test func digitsThenGPT2() {
        #expect(words("a 123", .digitsThenGPT2) == ["a", " ", "1", "2", "3"])
    }

    @Test func llama3() {
        #expect(words("Hello 12345 world\n\n  x", .llama3) == ["Hello", " ", "123", "45", " world", "\n\n", " ", " x"])
        #expect(words("I'M ok!!\n", .llama3) == ["I", "'M", " ok", "!!\n"])
    }

    @Test func qwen2() {
        #expect(words("Hello 12345 world\n\n  x", .qwen2)
            == ["Hello", " ", "1", "2", "3", "4", "5", " world", "\n\n", " ", " x"])
    }

    @Test func gpt4o() {
        #expect(words("CamelCase aBC éA", .gpt4o) == ["Camel", "Case", " a", "BC", " é", "A"])
        #expect(words("HTTPServer's 12345 a/b\n/", .gpt4o) == ["HTTPServer's", " ", "123", "45", " a", "/b", "\n", "/"])
    }

    @Test func legacyDefault() {
        #expect(words("a+b=42!!", .legacyDefault) == ["a", "+", "b", "=", "42", "!!"])
        #expect(words("x 12345", .legacyDefault) == ["x", " ", "123", "45"])
    }

    @Test func emptyTextHasNoWords() {
        for preTokenizer in PreTokenizer.allCases { #expect(preTokenizer.split([]).isEmpty) }
    }

    @Test func unicodeClasses() {
        #expect(words("中文 ١٢", .gpt2) == ["中文", " ١٢"])
        #expect(words("naïve\u{3000}x", .gpt2) == ["naïve", "\u{3000}", "x"])
    }

    @Test func ggufNamesMapToFamilies() {
        #expect(PreTokenizer.settings(forGGUFName: "smollm")?.0 == .digitsThenGPT2)
        #expect(PreTokenizer.settings(forGGUFName: "llama-bpe")?.ignoreMerges == true)
        #expect(PreTokenizer.settings(forGGUFName: "qwen2")?.0 == .qwen2)
        #expect(PreTokenizer.settings(forGGUFName: nil)?.0 == .legacyDefault)
        #expect(PreTokenizer.settings(forGGUFName: "")?.0 == .legacyDefault)
        #expect(PreTokenizer.settings(forGGUFName: "glm4")?.ignoreMerges == true)
        #expect(PreTokenizer.settings(forGGUFName: "deepseek-llm") == nil)
    }
}
