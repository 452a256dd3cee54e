import ShardEngine
import ShardNetworking

/// A peer's sequences, per link: each sidecar link numbers its sequences its own way, so the stage's cache is keyed
/// by an id the peer allocates for (link, sequence). Two sidecars sharing a peer never touch each other's caches,
/// a closed link frees exactly its own, and the announced capacity is a hard limit over all links.
struct PeerSequenceTable: Sendable {
    /// Most sequences cached at once, over every link.
    let capacity: Int
    private var byLink: [ConnectionID: [UInt64: SequenceID]] = [:]
    private var nextID: UInt64 = 1
    /// Sequences cached now.
    private(set) var count = 0

    init(capacity: Int) { self.capacity = capacity }

    /// Why a frame could not be mapped.
    enum Refusal: Error, Equatable, CustomStringConvertible {
        case full(capacity: Int)
        var description: String {
            switch self {
            case let .full(capacity): "the peer holds its capacity of \(capacity) sequences"
            }
        }
    }

    /// The stage ids of `sequences` on `link`, allocating new ones; nothing is allocated when they do not all fit.
    mutating func resolve(_ sequences: [UInt64], on link: ConnectionID) throws(Refusal) -> [SequenceID] {
        var table = byLink[link] ?? [:]
        let new = Set(sequences.filter { table[$0] == nil })
        guard count + new.count <= capacity else { throw .full(capacity: capacity) }
        for sequence in new.sorted() {
            table[sequence] = SequenceID(nextID)
            nextID += 1
        }
        count += new.count
        byLink[link] = table
        return sequences.map { table[$0]! }
    }

    /// Forgets `sequences` of `link`; returns the stage ids to free.
    mutating func release(_ sequences: [UInt64], on link: ConnectionID) -> [SequenceID] {
        var freed: [SequenceID] = []
        for sequence in sequences {
            if let id = byLink[link]?.removeValue(forKey: sequence) { freed.append(id) }
        }
        count -= freed.count
        return freed
    }

    /// Forgets every sequence of `link` (it closed); returns the stage ids to free.
    mutating func close(_ link: ConnectionID) -> [SequenceID] {
        let freed = Array((byLink.removeValue(forKey: link) ?? [:]).values)
        count -= freed.count
        return freed
    }
}
