// The README's example: stream a generation from the local sidecar to the terminal.
// Run `shard-sidecar` first (or `make demo`, which does both).
import Foundation
import ShardClient

let prompt = CommandLine.arguments.dropFirst().first ?? "And God said,"
let model = try await ShardDistributedModel.fromPretrained(
    "shard/network-default",
    routerURL: "http://127.0.0.1:9091",
    transport: .webSocket
)
for try await text in model.streamGenerate(prompt, maxNewTokens: 96, sampling: Sampling(temperature: 0.8, seed: 7)) {
    FileHandle.standardOutput.write(Data(text.utf8))   // unbuffered: one write per token
}
print()
model.shutdown()
