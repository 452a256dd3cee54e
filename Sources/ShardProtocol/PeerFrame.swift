/// The binary frames exchanged between the sidecar and peer shards (docs/protocol.md, "Peer protocol").
///
/// Layout, little-endian: a 32-byte header (`magic "SHRD"`, version, kind, dtype, flags, step, slice count, row
/// count, width, reserved), then one 16-byte record per slice (sequence, start position, row count), then, when
/// flag `hasSampling` is set, one 32-byte sampling record per slice, then, when flag bit 1 is set, the route, then
/// the payload: `rows` int32 token ids, or
/// `rows x width` f32/f16 values. Decoding checks every count and length before touching the payload.
public struct PeerFrame: Sendable, Equatable {
    /// What a frame carries.
    public enum Kind: UInt8, Sendable {
        /// Sidecar to peer: run these rows through your layers.
        case forward = 1
        /// Peer to sidecar: hidden states of every row.
        case hidden = 2
        /// Peer to sidecar (last stage): one sampled token id per slice.
        case sampled = 3
        /// Sidecar to peer: free the caches of these sequences.
        case release = 4
        /// Peer to sidecar: a routed step could not be passed on to the next stage (rows 0); it must be replayed.
        case failed = 5
    }

    /// Where a forward frame goes after this peer (peer-to-peer forwarding): the sidecar's link at this peer,
    /// whose sequence numbers the frame uses and where a last stage answers, and the stages still to come.
    public struct Route: Sendable, Equatable {
        /// One later stage: its URL, the sidecar's link token there, and the element type to send it.
        public struct Hop: Sendable, Equatable {
            /// `ws://host:port/peer` of the next stage.
            public var url: String
            /// The token the next stage gave the sidecar's own link (its `ready` message).
            public var link: UInt64
            /// Element type of the hidden states sent to it (f32 or f16).
            public var dtype: DType
            /// Creates a hop.
            public init(url: String, link: UInt64, dtype: DType) {
                self.url = url
                self.link = link
                self.dtype = dtype
            }
        }

        /// The sidecar's link at the receiving peer; 0: the link the frame came on.
        public var link: UInt64
        /// The stages after the receiving one, in order; empty for the last stage.
        public var hops: [Hop]
        /// Creates a route.
        public init(link: UInt64, hops: [Hop]) {
            self.link = link
            self.hops = hops
        }

        /// Most hops a route lists, and the longest URL of a hop, in bytes.
        public static let maxHops = 16, maxURLBytes = 512
    }

    /// Element type of the payload.
    public enum DType: UInt8, Sendable {
        /// int32 token ids, one per row.
        case tokens = 0
        /// 32-bit floats.
        case f32 = 1
        /// 16-bit floats.
        case f16 = 2

        /// The element type of hidden states named `f32` or `f16` (the `hidden_dtype` of `auth`, the command-line
        /// options); `nil` for any other name.
        public init?(hiddenStateName name: String) {
            switch name {
            case "f32": self = .f32
            case "f16": self = .f16
            default: return nil
            }
        }

        /// `f32` or `f16` for hidden states (`tokens` for token ids).
        public var name: String {
            switch self {
            case .tokens: "tokens"
            case .f32: "f32"
            case .f16: "f16"
            }
        }
    }

    /// One sequence's rows.
    public struct Slice: Sendable, Equatable {
        /// The sequence (request) id used on the shards.
        public var sequence: UInt64
        /// Position of the slice's first row.
        public var startPosition: UInt32
        /// Rows of the slice (0 in release frames).
        public var count: UInt32
        /// Creates a slice record.
        public init(sequence: UInt64, startPosition: UInt32, count: UInt32) {
            self.sequence = sequence
            self.startPosition = startPosition
            self.count = count
        }
    }

    /// `SHRD` read as a little-endian integer.
    public static let magic: UInt32 = 0x4452_4853
    /// The frame format version.
    public static let version: UInt8 = 1
    /// Upper bounds that keep a hostile frame from requesting huge allocations.
    public static let maxSlices = 4096, maxRows = 1 << 16, maxWidth = 1 << 16

    /// What the frame carries.
    public var kind: Kind
    /// Payload element type.
    public var dtype: DType
    /// Correlates a result with its request.
    public var step: UInt64
    /// The sequences in the frame, in row order.
    public var slices: [Slice]
    /// Present on forward frames to the last stage: one per slice.
    public var sampling: [SliceSampling]?
    /// Values per row for hidden states; 0 for token ids.
    public var width: Int
    /// Token ids (dtype `.tokens`).
    public var tokens: [Int32]
    /// Hidden states, row-major (dtype `.f32` or `.f16`; f16 is widened on decode).
    public var values: [Float]

    /// For a routed forward frame: where its result goes (flag bit 1).
    public var route: Route?

    /// Creates a frame.
    public init(kind: Kind, dtype: DType, step: UInt64, slices: [Slice], sampling: [SliceSampling]? = nil,
                width: Int = 0, tokens: [Int32] = [], values: [Float] = [], route: Route? = nil) {
        self.route = route
        self.kind = kind
        self.dtype = dtype
        self.step = step
        self.slices = slices
        self.sampling = sampling
        self.width = width
        self.tokens = tokens
        self.values = values
    }

    /// Number of payload rows.
    public var rowCount: Int { dtype == .tokens ? tokens.count : (width == 0 ? 0 : values.count / width) }
}
