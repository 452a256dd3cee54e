import ArgumentParser
import Foundation
import ShardClient

/// `shard chat`: an interactive conversation with the model. Each line typed is a user message; the reply streams
/// to stdout as it is generated and joins the conversation. End of input (Ctrl-D) ends the session.
///
/// With standard input not a terminal, lines are read the same way without a prompt, so a script can pipe
/// questions in: `printf 'What is the capital of France?\n' | shard chat`.
struct ChatCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chat",
        abstract: "Chat with the model: type a message, the reply streams back; Ctrl-D ends.",
        discussion: "The conversation is rendered with the model's own chat template by the sidecar.")

    @Option(help: "A system message opening the conversation.") var system: String?
    @OptionGroup var generation: SamplingOptions
    @OptionGroup var options: SidecarOptions

    func run() async throws {
        let model = try await options.load(transport: generation.transport)
        let sampling = generation.sampling
        let interactive = isatty(STDIN_FILENO) == 1
        var conversation: [ChatMessage] = system.map { [.system($0)] } ?? []
        let output = FileHandle.standardOutput
        if interactive {
            FileHandle.standardError.write(Data("Chatting with \(options.model); Ctrl-D to end.\n".utf8))
        }
        while true {
            if interactive { output.write(Data("> ".utf8)) }
            guard let line = readLine(strippingNewline: true) else { break }
            let message = line.trimmingCharacters(in: .whitespaces)
            if message.isEmpty { continue }
            conversation.append(.user(message))
            var reply = ""
            for try await piece in model.chat(conversation, maxNewTokens: generation.maxNewTokens,
                                              sampling: sampling) {
                reply += piece
                output.write(Data(piece.utf8))
            }
            output.write(Data("\n".utf8))
            conversation.append(.assistant(reply))
        }
        if interactive { output.write(Data("\n".utf8)) }
        model.shutdown()
    }
}
