import Foundation
import ShardEngine
import ShardHTTPClient
import ShardProtocol
import ShardTokenizers
import ShardSync

/// An existing inference server that holds the whole model (llama.cpp's `llama-server`, vLLM, Ollama) used as the
/// one stage of the pipeline (`serve --engine URL`): the sidecar keeps its registry, queue, limits, events,
/// cancellation, metrics and failover, and the engine computes.
///
/// Each step asks the engine for one token per sequence, sending the sequence's whole token history as ids; the
/// engine keeps the sequence's KV cache between requests (`cache_prompt`), so a step costs one decode there. A
/// request that fails fails only its sequences, which are replayed (on another engine, when there is one). With
/// `llama-server` the ids go in and come out exactly (`/completion`, `return_tokens`); with a server that only
/// speaks OpenAI's `/v1/completions`, ids go in (vLLM accepts them) and the returned text is mapped back to an id
/// with the sidecar's tokenizer.
final class EngineRunner: ShardRunner, @unchecked Sendable {
    /// How the engine is spoken to.
    enum Dialect: Sendable, Equatable {
        /// llama.cpp's native `/completion`: token ids in and out.
        case llamaServer
        /// OpenAI's `/v1/completions`: token ids in, text out.
        case openAI
    }

    struct Configuration: Sendable {
        /// `http://host:port` of the engine.
        var url: String
        /// Sent as `Authorization: Bearer`.
        var apiKey: String?
        /// Requests to the engine at once (one per sequence of a step).
        var connections = 16
        /// Longest wait for one token.
        var requestTimeout: Duration = .seconds(120)
    }

    private let configuration: Configuration
    let layers: Range<Int>
    private let tokenizer: any Tokenizer
    private let endOfGeneration: Set<TokenID>
    private let onReady: @Sendable () -> Void
    private let clients: [CurlHTTPClient]
    /// Guards everything below.
    private let lock = Lock()
    private var state = ShardState.connecting
    private var detail: String?
    private var dialect: Dialect?
    private var slots: Int?
    private var latency: Double?
    /// Each sequence's tokens so far (prompt and generated): what the engine is sent.
    private var histories: [UInt64: [TokenID]] = [:]
    private var freeClients: [Int]
    private var waitingForClient: [CheckedContinuation<Int, Never>] = []
    private var monitor: Task<Void, Never>?

    init(configuration: Configuration, blockCount: Int, tokenizer: any Tokenizer, endOfGeneration: Set<TokenID>,
         onReady: @escaping @Sendable () -> Void) {
        self.configuration = configuration
        layers = 0 ..< blockCount
        self.tokenizer = tokenizer
        self.endOfGeneration = endOfGeneration
        self.onReady = onReady
        clients = (0 ..< max(1, configuration.connections)).map { _ in
            CurlHTTPClient(connectTimeout: .seconds(5), defaultTimeout: configuration.requestTimeout)
        }
        freeClients = Array(clients.indices)
    }

    var status: ShardStatus {
        lock.withLock {
            ShardStatus(name: configuration.url, layers: layers, state: state, latencyMilliseconds: latency,
                        detail: detail)
        }
    }

    var isRemote: Bool { true }
    /// llama-server's slot count (`/props`): each running sequence keeps a slot's cache; more sequences than slots
    /// would evict each other's caches at every token. Unknown (no limit) for other engines.
    var capacity: Int? { lock.withLock { slots } }
    func cachedSequenceCount() -> Int? { lock.withLock { histories.count } }

    /// Starts watching the engine's health: it is `ready` while its health check answers 200.
    func start() {
        monitor = Task { [self] in
            while !Task.isCancelled {
                let (healthy, reason, found) = await probe()
                let becameReady = lock.withLock { () -> Bool in
                    let was = state
                    state = healthy ? .ready : .down
                    detail = healthy ? nil : reason
                    if let found {
                        dialect = found.dialect
                        slots = found.slots
                    }
                    return healthy && was != .ready
                }
                if becameReady {
                    Log.info("engine \(configuration.url) ready")
                    onReady()
                }
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// Stops the health checks and the HTTP clients.
    func shutdown() {
        monitor?.cancel()
        clients.forEach { $0.shutdown() }
    }

    /// `GET /health` (llama-server, vLLM) and, once, which dialect the engine speaks (`/props` is llama-server's).
    private func probe() async -> (Bool, String?, (dialect: Dialect, slots: Int?)?) {
        let client = clients[0]
        let headers = authorization
        do {
            let health = try await client.get(configuration.url + "/health", headers: headers, timeout: .seconds(5))
            guard health.status == 200 else { return (false, "health check answered \(health.status)", nil) }
            guard lock.withLock({ dialect }) == nil else { return (true, nil, nil) }
            let props = try await client.get(configuration.url + "/props", headers: headers, timeout: .seconds(5))
            guard props.status == 200 else { return (true, nil, (.openAI, nil)) }
            let slots = JSONValue.decode(props.body)?["total_slots"]?.intValue.map { max(1, $0) }
            return (true, nil, (.llamaServer, slots))
        } catch {
            return (false, "unreachable: \(error)", nil)
        }
    }

    private var authorization: [String: String] {
        configuration.apiKey.map { ["Authorization": "Bearer \($0)"] } ?? [:]
    }

    /// One token per slice: each slice's history plus its new rows go to the engine, all slices at once.
    func submit(_ work: ShardWork, completion: @escaping ShardCompletion) {
        guard case let .tokens(tokens) = work.batch.input, let sampling = work.sampling,
              sampling.count == work.batch.slices.count else {
            completion(.failure(ShardError(shard: configuration.url, message: "an engine takes token ids and samples")))
            return
        }
        var prompts: [[TokenID]] = []
        var offset = 0
        let failure = lock.withLock { () -> String? in
            guard state == .ready, dialect != nil else { return "not ready" }
            for slice in work.batch.slices {
                var history = histories[slice.sequence.rawValue] ?? []
                guard history.count == slice.startPosition else {
                    return "\(slice.sequence) continues at \(slice.startPosition) but the engine was sent \(history.count)"
                }
                history += tokens[offset ..< offset + slice.count]
                offset += slice.count
                prompts.append(history)
            }
            return nil
        }
        if let failure {
            completion(.failure(ShardError(shard: configuration.url, message: failure)))
            return
        }
        let started = Date()
        Task { [self] in
            do {
                let sampled = try await withThrowingTaskGroup(of: (Int, TokenID).self) { group in
                    for (index, prompt) in prompts.enumerated() {
                        group.addTask { (index, try await self.nextToken(prompt, sampling: sampling[index])) }
                    }
                    var sampled = [TokenID](repeating: 0, count: prompts.count)
                    for try await (index, token) in group { sampled[index] = token }
                    return sampled
                }
                let seconds = Date().timeIntervalSince(started)
                lock.withLock {
                    // The engine now holds the rows just sent; the sampled token is sent with the next step.
                    for (slice, prompt) in zip(work.batch.slices, prompts) { histories[slice.sequence.rawValue] = prompt }
                    latency = latency.map { $0 * 0.8 + seconds * 200 } ?? seconds * 1000
                }
                completion(.success(.sampled(sampled)))
            } catch let error as ShardError {
                completion(.failure(error))
            } catch {
                completion(.failure(ShardError(shard: configuration.url, message: "\(error)")))
            }
        }
    }

    /// Asks the engine for the token after `prompt`.
    private func nextToken(_ prompt: [TokenID], sampling: SliceSampling) async throws -> TokenID {
        let client = await takeClient()
        defer { giveBack(client) }
        let parameters = sampling.sampling
        // The engine's random draws are its own; vary its seed per token so a seeded request is reproducible.
        let seed = parameters.seed.map { $0 &+ UInt64(sampling.generatedCount) }
        let suppressEnd = sampling.generatedCount < parameters.minTokens
        let dialect = lock.withLock { self.dialect } ?? .llamaServer
        var body: [String: JSONValue] = [
            "prompt": .array(prompt.map { .int(Int64($0)) }), "temperature": .double(parameters.temperature),
            "top_p": .double(parameters.topP), "stream": .bool(false),
        ]
        if let seed { body["seed"] = .int(Int64(seed & 0x7FFF_FFFF)) }
        let path: String
        switch dialect {
        case .llamaServer:
            path = "/completion"
            body["n_predict"] = .int(1)
            body["cache_prompt"] = .bool(true)
            body["return_tokens"] = .bool(true)
            body["top_k"] = .int(Int64(parameters.topK))
            if suppressEnd { body["ignore_eos"] = .bool(true) }
        case .openAI:
            path = "/v1/completions"
            body["max_tokens"] = .int(1)
            if parameters.topK > 0 { body["top_k"] = .int(Int64(parameters.topK)) }
            if suppressEnd { body["ignore_eos"] = .bool(true) }
        }
        let response: HTTPClientResponse
        do {
            response = try await clients[client].post(configuration.url + path, body: JSONValue.object(body).encoded(),
                                                      headers: authorization)
        } catch {
            throw ShardError(shard: configuration.url, message: "request failed: \(error)")
        }
        guard response.status == 200, let answer = JSONValue.decode(response.body) else {
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
            throw ShardError(shard: configuration.url, message: "answered \(response.status): \(text)")
        }
        return try token(from: answer, dialect: dialect)
    }

    /// The sampled id in an engine's answer: its token ids (llama-server), or its text mapped back to an id; an
    /// answer that stopped at the end of generation means the model's end-of-generation token.
    private func token(from answer: JSONValue, dialect: Dialect) throws -> TokenID {
        let endID = endOfGeneration.min() ?? 0
        switch dialect {
        case .llamaServer:
            if case let .array(ids)? = answer["tokens"], let id = ids.first?.intValue { return TokenID(id) }
            if answer["stop_type"]?.stringValue == "eos" || answer["stopped_eos"] == .bool(true) { return endID }
            throw ShardError(shard: configuration.url, message: "the answer carries no token")
        case .openAI:
            guard case let .array(choices)? = answer["choices"], let choice = choices.first else {
                throw ShardError(shard: configuration.url, message: "the answer has no choices")
            }
            let text = choice["text"]?.stringValue ?? ""
            if text.isEmpty, choice["finish_reason"]?.stringValue == "stop" { return endID }
            guard let id = tokenizer.encode(text, addBOS: false).first else {
                throw ShardError(shard: configuration.url, message: "the answer's text maps to no token")
            }
            return id
        }
    }

    private func takeClient() async -> Int {
        await withCheckedContinuation { waiter in
            let free = lock.withLock { () -> Int? in
                if let index = freeClients.popLast() { return index }
                waitingForClient.append(waiter)
                return nil
            }
            if let free { waiter.resume(returning: free) }
        }
    }

    private func giveBack(_ client: Int) {
        let waiter = lock.withLock { () -> CheckedContinuation<Int, Never>? in
            if waitingForClient.isEmpty {
                freeClients.append(client)
                return nil
            }
            return waitingForClient.removeFirst()
        }
        waiter?.resume(returning: client)
    }

    /// Forgets the sequences (the engine's slots are reused by later prompts).
    func release(_ sequences: [UInt64]) {
        lock.withLock { for sequence in sequences { histories[sequence] = nil } }
    }
}
