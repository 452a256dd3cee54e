import Foundation
import ShardEngine
import ShardNetworking
import ShardProtocol
import ShardTokenizers

/// The parsers that read bytes from outside, as fuzz targets (`make fuzz`, libFuzzer) and as the replay of their
/// corpus and crash reproducers in the tests (`FuzzRegressionTests`). Each takes any bytes; a typed error is the
/// expected answer to garbage, and a crash, a hang or a broken round trip is a finding.
public enum FuzzTarget: String, CaseIterable, Sendable {
    /// What a client sends: `/broadcast-work` bodies and `/ws/generate` messages, parsed and validated.
    case request
    /// The first request head on a connection (request line and header fields), checked by the server's front door.
    case requestHead = "request-head"
    /// What a peer or a sidecar sends on a peer link: binary frames.
    case peerFrame = "peer-frame"
    /// A model file: the GGUF reader, hyperparameters and the embedded vocabulary.
    case gguf
    /// What the sidecar serves to SDKs: a serialized GGUF vocabulary, rebuilt into a tokenizer.
    case vocabulary

    /// Runs the target on one input.
    public func run(_ bytes: [UInt8]) {
        switch self {
        case .request: Self.request(bytes)
        case .requestHead: Self.requestHead(bytes)
        case .peerFrame: Self.peerFrame(bytes)
        case .gguf: Self.gguf(bytes)
        case .vocabulary: Self.vocabulary(bytes)
        }
    }

    /// Whether the target's parser accepts `bytes` (the seed corpus must be accepted, or it seeds nothing).
    public func accepts(_ bytes: [UInt8]) -> Bool {
        switch self {
        case .request: return (try? WebSocketCommand.parse(bytes)) != nil
        case .requestHead:
            if case .accept = RequestHead.examine(bytes, limit: 16 << 10) { return true }
            return false
        case .peerFrame: return (try? PeerFrame.decode(bytes)) != nil
        case .vocabulary: return (try? GGUFVocabulary(serialized: bytes)) != nil
        case .gguf:
            let path = NSTemporaryDirectory() + "shard-fuzz-accepts-\(getpid()).gguf"
            guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return false }
            defer { try? FileManager.default.removeItem(atPath: path) }
            return (try? GGUFFile(path: path)) != nil
        }
    }

    static func request(_ bytes: [UInt8]) {
        if let value = JSONValue.decode(bytes) {
            // What we print must read back as the same value.
            let again = JSONValue.decode(value.encoded())
            precondition(again == value || value.containsNonFinite, "JSON round trip changed \(value)")
        }
        if case let .generate(request)? = try? WebSocketCommand.parse(bytes) {
            _ = try? request.validate(limits: RequestLimits())
        }
        if let request = try? GenerationRequest.parse(bytes) { _ = try? request.validate(limits: RequestLimits()) }
    }

    static func requestHead(_ bytes: [UInt8]) {
        guard case let .accept(head) = RequestHead.examine(bytes, limit: 16 << 10) else { return }
        precondition(head.length <= bytes.count && RequestHead.endOfHead(bytes) == head.length, "head length is off")
        // A rewritten head is itself a valid head that needs no rewriting, with the same body.
        if let rewritten = head.rewritten {
            guard case let .accept(again) = RequestHead.examine(rewritten, limit: 16 << 10) else {
                preconditionFailure("the rewritten head is refused")
            }
            precondition(again.rewritten == nil && again.hasBody == head.hasBody, "rewriting is not idempotent")
        }
    }

    static func peerFrame(_ bytes: [UInt8]) {
        guard let frame = try? PeerFrame.decode(bytes) else { return }
        // A frame that decodes encodes to a frame that decodes to the same.
        let again = try? PeerFrame.decode(frame.encoded())
        precondition(again.map { $0.kind == frame.kind && $0.slices == frame.slices && $0.step == frame.step } == true,
                     "peer frame round trip changed the frame")
    }

    /// GGUF input goes through a file, as the reader maps files.
    static func gguf(_ bytes: [UInt8]) {
        let path = NSTemporaryDirectory() + "shard-fuzz-\(getpid()).gguf"
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else { return }
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let file = try? GGUFFile(path: path) else { return }
        if let hyper = try? LlamaHyperparameters(gguf: file) { _ = ModelInfo(gguf: file, hyperparameters: hyper) }
        if let tokenizer = try? ModelBundle.embeddedTokenizer(of: file) {
            _ = tokenizer.encode("Hello, <|im_start|> world 123", addBOS: true, parseSpecial: true)
        }
    }

    static func vocabulary(_ bytes: [UInt8]) {
        guard let vocabulary = try? GGUFVocabulary(serialized: bytes) else { return }
        // Compared as bytes: a NaN score is never equal to itself.
        let serialized = vocabulary.serialized()
        precondition((try? GGUFVocabulary(serialized: serialized))?.serialized() == serialized,
                     "vocabulary round trip changed it")
        guard let tokenizer = try? vocabulary.makeTokenizer() else { return }
        let ids = tokenizer.encode("Hello, <|im_start|> world 123 ✓", addBOS: true, parseSpecial: true)
        _ = try? tokenizer.decode(ids.filter { $0 >= 0 && Int($0) < vocabulary.tokens.count })
    }
}

extension JSONValue {
    /// Whether a NaN or infinity is inside (JSON cannot write them; they cannot round-trip).
    var containsNonFinite: Bool {
        switch self {
        case let .double(value): !value.isFinite
        case let .array(items): items.contains { $0.containsNonFinite }
        case let .object(members): members.values.contains { $0.containsNonFinite }
        default: false
        }
    }
}
