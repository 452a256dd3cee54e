import Foundation
import ShardSync

/// The streams started from one model value, so ``ShardDistributedModel/shutdown()`` can stop them all.
final class ModelLifetime: @unchecked Sendable {
    /// Guards `tasks` and `isShutDown`.
    private let lock = Lock()
    private var tasks: [UUID: Task<Void, Never>] = [:]
    private var isShutDown = false

    /// Registers a producer; returns `false` (and cancels it) after shutdown.
    func register(_ id: UUID, _ task: Task<Void, Never>) -> Bool {
        let accepted = lock.withLock { () -> Bool in
            guard !isShutDown else { return false }
            tasks[id] = task
            return true
        }
        if !accepted { task.cancel() }
        return accepted
    }

    func finished(_ id: UUID) { _ = lock.withLock { tasks.removeValue(forKey: id) } }

    func shutdown() {
        let running = lock.withLock { () -> [Task<Void, Never>] in
            isShutDown = true
            defer { tasks.removeAll() }
            return Array(tasks.values)
        }
        running.forEach { $0.cancel() }
    }
}

extension ShardDistributedModel {
    /// Cancels every stream started from this model (each cancels its request on the sidecar) and refuses new
    /// ones with ``ShardClientError/Kind-swift.struct/cancelled``. Idempotent. Copies of the value share this state.
    public func shutdown() { lifetime.shutdown() }

    /// Loads a model, runs `body` with it, and shuts it down afterwards, also when `body` throws.
    ///
    /// ```swift
    /// let text = try await ShardDistributedModel.withModel { model in
    ///     try await model.generate("And God said,", maxNewTokens: 32)
    /// }
    /// ```
    public static func withModel<Result: Sendable>(
        _ model: String = "shard/network-default", routerURL: String = "http://127.0.0.1:9091",
        websocketURL: String = "ws://127.0.0.1:9091/ws/generate", tokenizer: TokenizerChoice = .automatic,
        transport: Transport = .httpPolling, retry: RetryPolicy = .default, apiKey: String? = nil,
        _ body: (ShardDistributedModel) async throws -> Result
    ) async throws -> Result {
        let loaded = try await fromPretrained(model, routerURL: routerURL, websocketURL: websocketURL,
                                              tokenizer: tokenizer, transport: transport, retry: retry, apiKey: apiKey)
        defer { loaded.shutdown() }
        return try await body(loaded)
    }
}
