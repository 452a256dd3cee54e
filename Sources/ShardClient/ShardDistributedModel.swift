import Foundation
import ShardProtocol
import ShardTokenizers

/// A model served by a local Shard sidecar: the SDK's entry point.
///
/// ```swift
/// let model = try await ShardDistributedModel.fromPretrained("shard/network-default")
/// for try await text in model.streamGenerate("In the beginning", maxNewTokens: 64) {
///     print(text, terminator: "")
/// }
/// ```
/// Values are immutable and `Sendable`; share one between tasks freely. Each stream opens its own connection.
public struct ShardDistributedModel: Sendable {
    /// The model id sent with each request.
    public let modelID: String
    /// Base URL of the sidecar's HTTP API.
    public let routerURL: String
    /// URL of the sidecar's `/ws/generate` endpoint.
    public let websocketURL: String
    /// The tokenizer used for `input_token_ids`.
    public let tokenizer: any Tokenizer
    /// The wire name of ``tokenizer`` (`gguf-vocab:<fingerprint>`, `sentencepiece:<fingerprint>` or `utf8-bytes`).
    public let tokenizerName: String
    /// How requests travel.
    public let transport: Transport
    /// Retry policy for submissions and idempotent reads.
    public let retry: RetryPolicy
    /// API key sent as a Bearer token, when the sidecar requires one.
    public let apiKey: String?
    /// Streams in flight, for ``shutdown()``.
    let lifetime = ModelLifetime()

    /// Connects to a sidecar, waits (bounded) until it is ready for `model`, and resolves the tokenizer.
    ///
    /// Mirrors the Python scaffold's `from_pretrained`.
    /// - Parameters:
    ///   - model: model id; `shard/network-default` is the sidecar's default model.
    ///   - routerURL: the sidecar's HTTP base URL.
    ///   - websocketURL: its WebSocket endpoint.
    ///   - tokenizer: `.automatic` downloads the model's SentencePiece file (cached by fingerprint).
    ///   - transport: HTTP polling (default) or WebSocket.
    ///   - retry: retries for submissions and idempotent reads, never after the first token.
    ///   - apiKey: sent as `Authorization: Bearer`.
    ///   - readinessTimeout: how long to wait for every layer of the model to be served.
    /// - Throws: ``ShardClientError`` `.noSidecar` when nothing answers ("start it with `shard-sidecar`"),
    ///   `.timeout` when the sidecar stays unready, `.clientError` for an unknown model or a wrong API key.
    public static func fromPretrained(
        _ model: String = "shard/network-default",
        routerURL: String = "http://127.0.0.1:9091",
        websocketURL: String = "ws://127.0.0.1:9091/ws/generate",
        tokenizer: TokenizerChoice = .automatic,
        transport: Transport = .httpPolling,
        retry: RetryPolicy = .default,
        apiKey: String? = nil,
        readinessTimeout: Duration = .seconds(30)
    ) async throws(ShardClientError) -> ShardDistributedModel {
        let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
        defer { connection.shutdown() }
        try await waitUntilReady(connection, model: model, timeout: readinessTimeout)
        let (resolved, name) = try await TokenizerResolver(connection: connection, model: model).resolve(tokenizer)
        return ShardDistributedModel(modelID: model, routerURL: connection.routerURL, websocketURL: websocketURL,
                                     tokenizer: resolved, tokenizerName: name, transport: transport, retry: retry,
                                     apiKey: apiKey)
    }

    private static func waitUntilReady(_ connection: SidecarConnection, model: String,
                                       timeout: Duration) async throws(ShardClientError) {
        let deadline = ContinuousClock.now + timeout
        let query = model.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? model
        var delay = Duration.milliseconds(50)
        while true {
            let (status, answer, _) = try await connection.get("/ready?model=\(query)", accepting: [503])
            if status == 200 { return }
            guard ContinuousClock.now + delay < deadline else {
                throw ShardClientError(.timeout, "the sidecar at \(connection.routerURL) is not ready: missing layers "
                    + "\(answer["missing_layers"]?.encodedString() ?? "?")", httpStatus: status)
            }
            // The sidecar has no readiness push; back off between bounded checks.
            do { try await Task.sleep(for: delay) } catch { throw ShardClientError(.cancelled, "cancelled") }
            delay = min(delay * 2, .seconds(1))
        }
    }

    /// Runs one generation, sending its events to `yield`.
    func run(_ input: PromptInput, maxNewTokens: Int, sampling: Sampling, stop: [String],
             yield: @Sendable (StreamEvent) -> Void) async throws(ShardClientError) {
        let body = try GenerationRequestBody(input: input, maxNewTokens: maxNewTokens, sampling: sampling,
                                             stop: stop, model: modelID, tokenizer: tokenizer,
                                             wireTokenizer: tokenizerName)
        switch transport {
        case .httpPolling:
            try await HTTPPollingTransport(routerURL: routerURL, apiKey: apiKey, retry: retry).stream(body, yield: yield)
        case .webSocket:
            try await WebSocketTransport(websocketURL: websocketURL, apiKey: apiKey, retry: retry)
                .stream(body, yield: yield)
        }
    }
}
