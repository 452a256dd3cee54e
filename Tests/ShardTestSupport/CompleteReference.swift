import Foundation

/// Output of `shard-sidecar complete` for the same greedy request (the reference every transport must match).
public func completeReference(prompt: String, maxNewTokens: Int) throws -> String {
    try completeReference(model: ["--model", "Fixtures/kjv-tiny/model-q8_0.gguf",
                                  "--tokenizer", "Fixtures/kjv-tiny/tokenizer.model"],
                          prompt: prompt, maxNewTokens: maxNewTokens)
}

/// `shard-sidecar complete` with the model arguments `model` (`["--model", PATH, ...]`).
public func completeReference(model: [String], prompt: String, maxNewTokens: Int) throws -> String {
    let result = try ExecutableRunner.run("shard-sidecar", ["complete"] + model + [
        "--prompt", prompt, "--max-new-tokens", "\(maxNewTokens)",
    ])
    guard result.status == 0 else { throw SidecarProcessError(message: result.standardError) }
    return String(result.standardOutput.dropLast())  // the trailing newline `complete` prints
}
