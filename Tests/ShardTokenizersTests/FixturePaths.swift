import Foundation

/// Locations of the committed fixture files, found relative to this source file.
enum FixturePaths {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let tokenizer = root.appendingPathComponent("Fixtures/kjv-tiny/tokenizer.model").path

    /// A fresh temporary file holding `bytes`.
    static func temporaryFile(_ bytes: [UInt8], name: String = "file") throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("shard-\(UUID().uuidString)-\(name)")
        try Data(bytes).write(to: url)
        return url.path
    }
}

/// Texts that exercise byte fallback, multi-byte characters and spacing.
let trickyTexts = [
    "In the beginning God created the heaven and the earth.",
    "  leading spaces,  double  spaces and a trailing space ",
    "Emoji 🙏🏽 and a family 👨‍👩‍👧 mid-sentence",
    "中文字符 和 日本語のテキスト",
    "café — naïve “quotes” ñ",
    "line one\nline two\ttab",
]
