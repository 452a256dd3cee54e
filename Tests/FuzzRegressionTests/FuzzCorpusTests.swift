import Foundation
import ShardFuzzTargets
import Testing

/// Every fuzz input — the seed corpus and the reproducer of every finding `make fuzz` ever made
/// (`Tests/Fuzz/Corpus/TARGET`, `Tests/Fuzz/Findings/TARGET`; the GGUF seed is made by the seed script) — runs
/// through its target without a crash.
@Suite("Fuzz corpus and findings replay")
struct FuzzCorpusTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fuzz")

    /// The GGUF seed is a (tiny) model file: `scripts/make-fuzz-seeds.py --gguf-dir` makes it here, once.
    static let ggufSeeds: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("shard-fuzz-seeds-\(getpid())")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", root.appendingPathComponent("../../scripts/make-fuzz-seeds.py").path,
                             "--gguf-dir", directory.path]
        try? process.run()
        process.waitUntilExit()
        return directory
    }()

    /// Seeds first (`Corpus` folders, the GGUF one made), then the findings.
    static func inputs(_ target: FuzzTarget) -> [URL] {
        let seeds = target == .gguf ? ggufSeeds : root.appendingPathComponent("Corpus").appendingPathComponent(target.rawValue)
        return [seeds, root.appendingPathComponent("Findings").appendingPathComponent(target.rawValue)].flatMap { directory in
            ((try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [])
                .sorted().map { directory.appendingPathComponent($0) }
        }
    }

    static func isSeed(_ file: URL) -> Bool { !file.path.contains("/Findings/") }

    @Test(arguments: FuzzTarget.allCases)
    func everyInputRunsCleanly(_ target: FuzzTarget) throws {
        let files = Self.inputs(target)
        #expect(!files.isEmpty, "no seed corpus for \(target.rawValue)")
        for file in files { target.run(Array(try Data(contentsOf: file))) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func everySeedIsAValidInput(_ target: FuzzTarget) throws {
        for file in Self.inputs(target) where Self.isSeed(file) {
            #expect(target.accepts(Array(try Data(contentsOf: file))), "\(file.lastPathComponent) seeds nothing")
        }
    }
}
