import ShardNetworking
import ShardProtocol

extension SidecarAPI {
    /// Prometheus text exposition of requests by state, tokens, queue depth, step latency and per-peer latency.
    func metricsResponse() -> HTTPResponse {
        let (states, queueDepth, counters) = registry.stateCounts()
        let steps = metrics.snapshot()
        var lines: [String] = []
        lines.append("# HELP shard_requests Requests held by the sidecar, by state.")
        lines.append("# TYPE shard_requests gauge")
        for state in RequestState.allCases { lines.append("shard_requests{state=\"\(state.rawValue)\"} \(states[state] ?? 0)") }
        lines.append("# HELP shard_requests_finished_total Requests finished, by finish reason.")
        lines.append("# TYPE shard_requests_finished_total counter")
        for reason in FinishReason.allCases {
            lines.append("shard_requests_finished_total{reason=\"\(reason.rawValue)\"} \(counters.finished[reason] ?? 0)")
        }
        lines.append("# HELP shard_tokens_generated_total Tokens generated.")
        lines.append("# TYPE shard_tokens_generated_total counter")
        lines.append("shard_tokens_generated_total \(counters.tokensGenerated)")
        lines.append("# HELP shard_queue_depth Requests waiting to join the batch.")
        lines.append("# TYPE shard_queue_depth gauge")
        lines.append("shard_queue_depth \(queueDepth)")
        lines.append("# HELP shard_step_seconds Latency of one batched pipeline step.")
        lines.append("# TYPE shard_step_seconds histogram")
        for (bound, count) in zip(SchedulerMetrics.bucketBounds, steps.cumulativeBuckets) {
            lines.append("shard_step_seconds_bucket{le=\"\(bound)\"} \(count)")
        }
        lines.append("shard_step_seconds_bucket{le=\"+Inf\"} \(steps.count)")
        lines.append("shard_step_seconds_sum \(steps.sum)")
        lines.append("shard_step_seconds_count \(steps.count)")
        lines.append("# HELP shard_step_failures_total Steps that failed on a shard and were replayed.")
        lines.append("# TYPE shard_step_failures_total counter")
        lines.append("shard_step_failures_total \(steps.failures)")
        lines.append("# HELP shard_peer_latency_seconds Mean round-trip of recent steps per shard.")
        lines.append("# TYPE shard_peer_latency_seconds gauge")
        lines.append("# HELP shard_peer_up 1 when the shard is ready.")
        lines.append("# TYPE shard_peer_up gauge")
        for runner in pipeline.runners {
            let status = runner.status
            let labels = "peer=\"\(status.name)\",layers=\"\(status.layers.lowerBound)-\(status.layers.upperBound)\""
            lines.append("shard_peer_up{\(labels)} \(status.state == .ready ? 1 : 0)")
            if let latency = status.latencyMilliseconds {
                lines.append("shard_peer_latency_seconds{\(labels)} \(latency / 1000)")
            }
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", "text/plain; version=0.0.4")],
                            body: Array((lines.joined(separator: "\n") + "\n").utf8))
    }
}
