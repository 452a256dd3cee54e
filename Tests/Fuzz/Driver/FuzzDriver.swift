import Foundation
import ShardFuzzTargets

#if FUZZING
/// libFuzzer's entry point (`make fuzz` builds this with `--sanitize=fuzzer -DFUZZING`); the target is chosen by
/// `SHARD_FUZZ_TARGET`.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    selected.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}

private let selected: FuzzTarget = {
    guard let name = ProcessInfo.processInfo.environment["SHARD_FUZZ_TARGET"], let target = FuzzTarget(rawValue: name)
    else {
        fatalError("set SHARD_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue).joined(separator: ", "))")
    }
    return target
}()
#else
/// Without libFuzzer: `shard-fuzz TARGET FILE_OR_DIRECTORY...` runs the target on each input once (to reproduce a
/// finding under a debugger).
@main
struct FuzzReplay {
    static func main() throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            print("usage: shard-fuzz \(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")) FILE_OR_DIRECTORY...")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            var isDirectory: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
            let files = isDirectory.boolValue
                ? try FileManager.default.contentsOfDirectory(atPath: path).map { path + "/" + $0 } : [path]
            for file in files {
                target.run(Array(try Data(contentsOf: URL(fileURLWithPath: file))))
                count += 1
            }
        }
        print("\(target.rawValue): \(count) inputs, no finding")
    }
}
#endif
