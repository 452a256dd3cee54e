import Foundation
import ShardNetworking
import ShardProtocol
import ShardSync

/// A peer's links to the next stages, for peer-to-peer forwarding: one WebSocket per next-stage URL, opened on first
/// use with the same handshake a sidecar makes (the same model, the shared secret proven both ways), and reopened
/// after it drops. Frames sent while a link is opening wait for it, in order.
final class PeerForwarder: @unchecked Sendable {
    /// Told why a frame could not be passed on (the sidecar then replays its step).
    typealias Failure = @Sendable (String) -> Void

    private enum Link {
        case opening([(bytes: [UInt8], failure: Failure)])
        case open(WebSocketClient)
    }

    private let modelSHA256: String
    private let secret: String?
    /// Guards `links` and `stopped`.
    private let lock = Lock()
    private var links: [String: Link] = [:]
    private var stopped = false

    init(modelSHA256: String, secret: String?) {
        self.modelSHA256 = modelSHA256
        self.secret = secret
    }

    /// Sends `frame` to the stage at `url`; `failure` hears if it cannot.
    func send(_ frame: PeerFrame, to url: String, failure: @escaping Failure) {
        let bytes = frame.encoded()
        let (client, opening) = lock.withLock { () -> (WebSocketClient?, Bool) in
            guard !stopped else { return (nil, false) }
            switch links[url] {
            case let .open(client)?:
                return (client, false)
            case var .opening(waiting)?:
                waiting.append((bytes, failure))
                links[url] = .opening(waiting)
                return (nil, false)
            case nil:
                links[url] = .opening([(bytes, failure)])
                return (nil, true)
            }
        }
        if opening { open(url) }
        guard let client else { return }
        do { try client.send(.binary(bytes)) } catch {
            drop(url, client)
            failure("the link to \(url) is closed: \(error)")
        }
    }

    /// Closes every link.
    func shutdown() {
        let open = lock.withLock { () -> [WebSocketClient] in
            stopped = true
            defer { links = [:] }
            return links.values.compactMap { if case let .open(client) = $0 { client } else { nil } }
        }
        for client in open { client.close(code: 1001, reason: "peer shutting down") }
    }

    private func drop(_ url: String, _ client: WebSocketClient) {
        lock.withLock {
            if case let .open(current)? = links[url], current === client { links[url] = nil }
        }
    }

    /// Connects and authenticates, then sends what waited; on failure, every waiting frame fails.
    private func open(_ url: String) {
        Task { [self] in
            do {
                let client = try await handshake(url)
                let waiting = lock.withLock { () -> [(bytes: [UInt8], failure: Failure)] in
                    guard case let .opening(waiting)? = links[url] else { return [] }
                    links[url] = .open(client)
                    return waiting
                }
                for (bytes, failure) in waiting {
                    do { try client.send(.binary(bytes)) } catch { failure("the link to \(url) is closed: \(error)") }
                }
                // The next stage never sends on this link; its end is the link's end.
                do { for try await _ in client.messages {} } catch {}
                drop(url, client)
            } catch {
                let waiting = lock.withLock { () -> [(bytes: [UInt8], failure: Failure)] in
                    defer { links[url] = nil }
                    guard case let .opening(waiting)? = links[url] else { return [] }
                    return waiting
                }
                Log.warning("forwarding to \(url): \(error)")
                for (_, failure) in waiting { failure("cannot reach the next stage \(url): \(error)") }
            }
        }
    }

    /// The sidecar's side of the handshake (docs/protocol.md), as the next stage expects it.
    private func handshake(_ url: String) async throws -> WebSocketClient {
        let client = try await WebSocketClient.connect(to: url, timeout: .seconds(10))
        _ = try await PeerHandshake.authenticate(client, expectedModel: modelSHA256, secret: secret)
        return client
    }
}
