@testable import ShardProtocol
import Testing

@Suite("Strict JSON parsing")
struct JSONParserTests {
    static func parse(_ text: String) -> JSONValue? { JSONValue.decode(Array(text.utf8)) }

    @Test func integersAndNumbersStayApart() {
        #expect(Self.parse("[1, 1.0, -0, 1e2, 9223372036854775807, 9223372036854775808]") == .array([
            .int(1), .double(1), .int(0), .double(100), .int(Int64.max), .double(9_223_372_036_854_775_808),
        ]))
    }

    @Test func stringsDecodeEscapesAndPairs() {
        #expect(Self.parse(#""a\"\\\/\b\f\n\r\t\u00e9\ud83d\ude4f""#) == .string("a\"\\/\u{8}\u{c}\n\r\té🙏"))
        #expect(Self.parse(#"{"k": 1, "k": 2}"#) == .object(["k": .int(2)]), "the last duplicate wins")
        #expect(Self.parse(" \n{ \"a\" : [ true , false , null ] } \t") == .object(["a": .array([.bool(true), .bool(false), .null])]))
    }

    @Test func invalidDocumentsAreRefused() {
        let invalid = [
            "", " ", "01", "1.", ".5", "1e", "-", "+1", "[1,]", "{\"a\":1,}", "{a:1}", "[1 2]", "nul", "truex",
            "\"\\ud83d\"", "\"\\ude4f\"", "\"\\x\"", "\"\u{01}\"", "\"abc", "[1] 2", "1e400", "-1e400", "{\"a\" 1}",
            String(repeating: "[", count: 200) + String(repeating: "]", count: 200),
        ]
        for text in invalid { #expect(Self.parse(text) == nil, "\(text.prefix(40)) was accepted") }
        #expect(JSONValue.decode([0x22, 0xFF, 0x22]) == nil, "invalid UTF-8")
        #expect(Self.parse(String(repeating: "[", count: 100) + String(repeating: "]", count: 100)) != nil)
    }

    /// Regression (reliability issue, defect 11): `input_token_ids: [1, 1.0]` was accepted.
    @Test func tokenIDsMustBeIntegers() {
        #expect(throws: ProtocolError.self) {
            try GenerationRequest.parse(Array(#"{"request_id": "x", "input_token_ids": [1, 1.0]}"#.utf8))
        }
        #expect((try? GenerationRequest.parse(Array(#"{"request_id": "x", "input_token_ids": [1, 2]}"#.utf8))) != nil)
    }

    @Test func encodingReadsBack() {
        let value = JSONValue.object(["s": .string("é\n\"🙏\u{0}"), "n": .double(0.1), "i": .int(-7),
                                      "a": .array([.null, .bool(true)])])
        #expect(JSONValue.decode(value.encoded()) == value)
    }
}
