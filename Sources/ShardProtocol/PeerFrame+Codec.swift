/// Why a peer frame was rejected.
public struct PeerFrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the frame.
    public let message: String
    /// Creates an error with a message.
    public init(_ message: String) { self.message = message }
    public var description: String { "bad peer frame: \(message)" }
}

extension PeerFrame {
    /// Serializes the frame.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(32 + slices.count * 48 + tokens.count * 4 + values.count * (dtype == .f16 ? 2 : 4))
        out.appendLE(Self.magic)
        out += [Self.version, kind.rawValue, dtype.rawValue, (sampling == nil ? 0 : 1) | (route == nil ? 0 : 2)]
        out.appendLE(step)
        out.appendLE(UInt32(slices.count))
        out.appendLE(UInt32(rowCount))
        out.appendLE(UInt32(width))
        out.appendLE(UInt32(0))
        for slice in slices {
            out.appendLE(slice.sequence)
            out.appendLE(slice.startPosition)
            out.appendLE(slice.count)
        }
        // The sampling values were validated on entry (``Sampling/validate()``): they fit these types.
        for record in sampling ?? [] {
            out.appendLE(record.sampling.engineTemperature.bitPattern)
            out.appendLE(Float(record.sampling.topP).bitPattern)
            out.appendLE(UInt32(clamping: record.sampling.topK))
            out.appendLE(UInt32(clamping: record.sampling.minTokens))
            out.appendLE(UInt32(clamping: record.generatedCount))
            out.appendLE(UInt32(0))
            out.appendLE(record.sampling.seed ?? 0)
        }
        if let route {
            out.appendLE(route.link)
            out.appendLE(UInt32(route.hops.count))
            let hops = route.hops.flatMap { hop -> [UInt8] in
                var bytes: [UInt8] = []
                bytes.appendLE(hop.link)
                bytes.append(hop.dtype.rawValue)
                bytes.appendLE(UInt16(hop.url.utf8.count))
                return bytes + Array(hop.url.utf8)
            }
            out.appendLE(UInt32(hops.count))
            out += hops
        }
        switch dtype {
        case .tokens: for token in tokens { out.appendLE(UInt32(bitPattern: token)) }
        case .f32: for value in values { out.appendLE(value.bitPattern) }
        case .f16: for value in values { out.appendLE(Float16Bits.from(value)) }
        }
        return out
    }

    /// Parses and bounds-checks a frame.
    ///
    /// - Throws: ``PeerFrameError`` naming the first inconsistency; nothing is allocated past the checked sizes.
    public static func decode(_ bytes: [UInt8]) throws(PeerFrameError) -> PeerFrame {
        var reader = LittleEndianReader(bytes: bytes)
        guard bytes.count >= 32 else { throw PeerFrameError("\(bytes.count) bytes, shorter than the 32-byte header") }
        guard reader.u32() == magic else { throw PeerFrameError("wrong magic") }
        let version = reader.u8(), kindCode = reader.u8(), dtypeCode = reader.u8(), flags = reader.u8()
        guard version == Self.version else { throw PeerFrameError("unsupported version \(version)") }
        guard let kind = Kind(rawValue: kindCode) else { throw PeerFrameError("unknown kind \(kindCode)") }
        guard let dtype = DType(rawValue: dtypeCode) else { throw PeerFrameError("unknown dtype \(dtypeCode)") }
        guard flags <= 3 else { throw PeerFrameError("unknown flags \(flags)") }
        let hasSampling = flags & 1 == 1, hasRoute = flags & 2 == 2
        guard !hasRoute || kind == .forward else { throw PeerFrameError("only a forward frame carries a route") }
        let step = reader.u64()
        let sliceCount = Int(reader.u32()), rows = Int(reader.u32()), width = Int(reader.u32())
        _ = reader.u32()
        guard sliceCount <= maxSlices else { throw PeerFrameError("\(sliceCount) slices (at most \(maxSlices))") }
        guard rows <= maxRows else { throw PeerFrameError("\(rows) rows (at most \(maxRows))") }
        guard width <= maxWidth else { throw PeerFrameError("width \(width) (at most \(maxWidth))") }
        guard (dtype == .tokens) == (width == 0) else {
            throw PeerFrameError("width \(width) does not fit dtype \(dtype)")
        }
        let elementBytes = dtype == .f16 ? 2 : 4
        let payloadCount = dtype == .tokens ? rows : rows * width
        let fixed = 32 + sliceCount * 16 + (hasSampling ? sliceCount * 32 : 0)
        // The route's length is in its own header (16 bytes), read below once the fixed part is known to fit.
        var routeBytes = 0
        if hasRoute {
            guard bytes.count >= fixed + 16 else { throw PeerFrameError("\(bytes.count) bytes, too short for its route") }
            var peek = LittleEndianReader(bytes: bytes, offset: fixed + 12)
            routeBytes = 16 + Int(peek.u32())
        }
        let expected = fixed + routeBytes + payloadCount * elementBytes
        guard bytes.count == expected else {
            throw PeerFrameError("\(bytes.count) bytes, but the header describes \(expected)")
        }
        var slices: [Slice] = []
        slices.reserveCapacity(sliceCount)
        var total = 0
        for _ in 0 ..< sliceCount {
            let slice = Slice(sequence: reader.u64(), startPosition: reader.u32(), count: reader.u32())
            total += Int(slice.count)
            slices.append(slice)
        }
        if kind == .forward || kind == .hidden {
            guard total == rows else { throw PeerFrameError("slices cover \(total) rows, payload has \(rows)") }
        }
        if kind == .sampled, rows != sliceCount {
            throw PeerFrameError("\(rows) sampled ids for \(sliceCount) slices")
        }
        var sampling: [SliceSampling]?
        if hasSampling {
            var records: [SliceSampling] = []
            for _ in 0 ..< sliceCount {
                let temperature = Float(bitPattern: reader.u32()), topP = Float(bitPattern: reader.u32())
                let topK = reader.u32(), minTokens = reader.u32(), generated = reader.u32()
                _ = reader.u32()
                let record = Sampling(temperature: Double(temperature), topK: Int(topK), topP: Double(topP),
                                      seed: reader.u64(), minTokens: Int(minTokens))
                do throws(ProtocolError) { try record.validate() } catch {
                    throw PeerFrameError("sampling record: \(error.message)")
                }
                records.append(SliceSampling(sampling: record, generatedCount: Int(generated)))
            }
            sampling = records
        }
        var frame = PeerFrame(kind: kind, dtype: dtype, step: step, slices: slices, sampling: sampling, width: width)
        if hasRoute { frame.route = try Self.decodeRoute(&reader, bytes: routeBytes - 16) }
        switch dtype {
        case .tokens: frame.tokens = (0 ..< rows).map { _ in Int32(bitPattern: reader.u32()) }
        case .f32: frame.values = (0 ..< payloadCount).map { _ in Float(bitPattern: reader.u32()) }
        case .f16: frame.values = (0 ..< payloadCount).map { _ in Float16Bits.to(reader.u16()) }
        }
        return frame
    }
}

extension PeerFrame {
    /// The route section after its link token: hop count, byte count (already checked against the frame), hops.
    private static func decodeRoute(_ reader: inout LittleEndianReader, bytes: Int) throws(PeerFrameError) -> Route {
        let link = reader.u64()
        let count = Int(reader.u32())
        _ = reader.u32()
        guard count <= Route.maxHops else { throw PeerFrameError("a route of \(count) hops (at most \(Route.maxHops))") }
        let end = reader.offset + bytes
        var hops: [Route.Hop] = []
        for _ in 0 ..< count {
            guard end - reader.offset >= 11 else { throw PeerFrameError("a route hop runs past the route") }
            let token = reader.u64(), dtypeCode = reader.u8(), length = Int(reader.u16())
            guard let dtype = DType(rawValue: dtypeCode), dtype != .tokens else {
                throw PeerFrameError("a route hop with dtype \(dtypeCode)")
            }
            guard length <= Route.maxURLBytes, end - reader.offset >= length,
                  let url = String(validating: reader.bytes[reader.offset ..< reader.offset + length], as: UTF8.self)
            else { throw PeerFrameError("a route hop with a bad URL") }
            reader.offset += length
            hops.append(Route.Hop(url: url, link: token, dtype: dtype))
        }
        guard reader.offset == end else { throw PeerFrameError("the route has \(end - reader.offset) bytes left over") }
        return Route(link: link, hops: hops)
    }
}

/// Reads little-endian integers from a buffer whose length the caller has already checked.
struct LittleEndianReader {
    let bytes: [UInt8]
    var offset = 0
    mutating func u8() -> UInt8 { defer { offset += 1 }; return bytes[offset] }
    mutating func u16() -> UInt16 { UInt16(u8()) | UInt16(u8()) << 8 }
    mutating func u32() -> UInt32 { UInt32(u16()) | UInt32(u16()) << 16 }
    mutating func u64() -> UInt64 { UInt64(u32()) | UInt64(u32()) << 32 }
}

extension Array where Element == UInt8 {
    mutating func appendLE<T: FixedWidthInteger>(_ value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// IEEE half-precision conversion for f16 payloads (round to nearest even).
enum Float16Bits {
    static func from(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 { return sign | 0x7C00 | (magnitude > 0x7F80_0000 ? 0x200 : 0) }
        if magnitude >= 0x477F_F000 { return sign | 0x7C00 }
        if magnitude < 0x3880_0000 {
            if magnitude < 0x3300_0000 { return sign }
            let exponent = magnitude >> 23
            let mantissa = (magnitude & 0x7F_FFFF) | 0x80_0000
            let shift = 126 - exponent
            var half = mantissa >> shift
            let remainder = mantissa & ((1 << shift) - 1), midpoint = UInt32(1) << (shift - 1)
            if remainder > midpoint || (remainder == midpoint && half & 1 == 1) { half += 1 }
            return sign | UInt16(half)
        }
        var half = (magnitude >> 13) - (112 << 10)
        let remainder = magnitude & 0x1FFF
        if remainder > 0x1000 || (remainder == 0x1000 && half & 1 == 1) { half += 1 }
        return sign | UInt16(half)
    }

    static func to(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F, mantissa = UInt32(bits & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13)) }
        if exponent == 0 {
            let value = Float(mantissa) / 16_777_216
            return sign == 0 ? value : -value
        }
        return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13))
    }
}
