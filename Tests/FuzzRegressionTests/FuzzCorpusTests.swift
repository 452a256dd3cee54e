import Foundation
import ShardFuzzTargets
import Testing

/// Every committed fuzz input — the seed corpus and the reproducer of every finding `make fuzz` ever made
/// (`Tests/Fuzz/Corpus/TARGET`, `Tests/Fuzz/Findings/TARGET`) — runs through its target without a crash.
@Suite("Fuzz corpus and findings replay")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    static func inputs(_ target: FuzzTarget) -> [URL] {
        ["Corpus", "Findings"].flatMap { folder -> [URL] in
            let directory = root.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
            return ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                .sorted().map { directory.appendingPathComponent($0) }
        }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everyInputRunsCleanly(_ target: FuzzTarget) throws {
        let files = Self.inputs(target)
        #expect(!files.isEmpty, "no seed corpus for \(target.rawValue)")
        for file in files { target.run(Array(try Data(contentsOf: file))) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everySeedIsAValidInput(_ target: FuzzTarget) throws {
        for file in Self.inputs(target) where file.path.contains("/Corpus/") {
            #expect(target.accepts(Array(try Data(contentsOf: file))), "\(file.lastPathComponent) seeds nothing")
        }
    }
}
