import ShardProtocol

extension ShardDistributedModel {
    /// The sidecar's liveness (`GET /health`). Retried per ``retry``.
    public func health() async throws(ShardClientError) -> SidecarHealth {
        let answer = try await read("/health")
        return SidecarHealth(status: answer["status"]?.stringValue ?? "?",
                             version: answer["version"]?.stringValue ?? "?",
                             uptimeSeconds: answer["uptime_s"].flatMap { value -> Double? in
                                 switch value {
                                 case let .double(number): number
                                 case let .int(number): Double(number)
                                 default: nil
                                 }
                             } ?? 0)
    }

    /// Whether every layer of `model` (default: this model) is served (`GET /ready`).
    public func ready(model: String? = nil) async throws(ShardClientError) -> SidecarReadiness {
        let name = model ?? modelID
        let query = name.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? name
        let answer = try await read("/ready?model=\(query)", accepting: [503])
        var missing: [Range<Int>] = []
        if case let .array(ranges)? = answer["missing_layers"] {
            for range in ranges {
                if case let .array(bounds) = range, bounds.count == 2, let start = bounds[0].intValue,
                   let end = bounds[1].intValue, start < end {
                    missing.append(start ..< end)
                }
            }
        }
        return SidecarReadiness(ready: answer["ready"] == .bool(true), missingLayers: missing)
    }

    /// The shards serving the model (`GET /peers`).
    public func peers() async throws(ShardClientError) -> [PeerStatus] {
        let answer = try await read("/peers")
        guard case let .array(list)? = answer["peers"] else {
            throw ShardClientError(.protocolViolation, "/peers did not list peers")
        }
        return list.compactMap { peer in
            guard case let .array(bounds)? = peer["layers"], bounds.count == 2, let start = bounds[0].intValue,
                  let end = bounds[1].intValue, start <= end else { return nil }
            var latency: Double?
            if case let .double(value)? = peer["latency_ms"] { latency = value }
            if case let .int(value)? = peer["latency_ms"] { latency = Double(value) }
            return PeerStatus(name: peer["name"]?.stringValue ?? "?", layers: start ..< end,
                              state: peer["state"]?.stringValue ?? "?", latencyMilliseconds: latency)
        }
    }

    /// An idempotent GET, retried per ``retry``.
    func read(_ path: String, accepting: Set<Int> = []) async throws(ShardClientError) -> JSONValue {
        let routerURL = self.routerURL, apiKey = self.apiKey
        return try await retry.run { () async throws(ShardClientError) -> JSONValue in
            let connection = SidecarConnection(routerURL: routerURL, apiKey: apiKey)
            defer { connection.shutdown() }
            return try await connection.get(path, accepting: accepting).1
        }
    }
}
