import Foundation

extension GGUFVocabulary {
    /// The first bytes of every serialized vocabulary: `SHRDVOCB` then the format version.
    static let magic: [UInt8] = Array("SHRDVOCB".utf8)
    /// The version of the serialized form written by ``serialized()``.
    public static let formatVersion: UInt32 = 1

    /// The compact, versioned binary form served to clients (all integers little-endian):
    /// magic `SHRDVOCB`, version `u32`, then strings as `u32` length + UTF-8: model, pre (with a presence byte),
    /// a flags byte (add BOS, add EOS, add space prefix), six special ids as `i32` (-1 = none: bos, eos, eot, eom,
    /// unknown, padding), then the counted arrays: tokens (strings), scores (`f32` bit patterns),
    /// types (`i32`), merges (strings).
    public func serialized() -> [UInt8] {
        var writer = ByteWriter()
        writer.bytes(Self.magic)
        writer.u32(Self.formatVersion)
        writer.string(model.rawValue)
        writer.u8(pre == nil ? 0 : 1)
        writer.string(pre ?? "")
        writer.u8((addBOS ? 1 : 0) | (addEOS ? 2 : 0) | (addSpacePrefix ? 4 : 0))
        for id in [specialIDs.bos, specialIDs.eos, specialIDs.eot, specialIDs.eom, specialIDs.unknown,
                   specialIDs.padding] {
            writer.u32(UInt32(bitPattern: id ?? -1))
        }
        writer.u32(UInt32(tokens.count))
        for token in tokens { writer.string(token) }
        writer.u32(UInt32(scores.count))
        for score in scores { writer.u32(score.bitPattern) }
        writer.u32(UInt32(types.count))
        for type in types { writer.u32(UInt32(bitPattern: type)) }
        writer.u32(UInt32(merges.count))
        for merge in merges { writer.string(merge) }
        return writer.output
    }

    /// Reads the form written by ``serialized()``.
    ///
    /// - Throws: ``TokenizerError/invalidVocabulary(_:)`` when the bytes are truncated, of another format or
    ///   version, or describe an inconsistent vocabulary.
    public init(serialized bytes: [UInt8]) throws(TokenizerError) {
        var reader = ByteReader(bytes: bytes)
        guard Array(try reader.bytes(Self.magic.count)) == Self.magic else {
            throw .invalidVocabulary("not a serialized GGUF vocabulary")
        }
        let version = try reader.u32()
        guard version == Self.formatVersion else {
            throw .invalidVocabulary("serialized vocabulary version \(version) is not supported")
        }
        let model = try reader.string()
        let hasPre = try reader.u8() != 0
        let pre = try reader.string()
        let flags = try reader.u8()
        var ids: [TokenID?] = []
        for _ in 0 ..< 6 {
            let raw = Int32(bitPattern: try reader.u32())
            ids.append(raw < 0 ? nil : raw)
        }
        let tokens = try reader.array { reader throws(TokenizerError) in try reader.string() }
        let scores = try reader.array { reader throws(TokenizerError) in Float(bitPattern: try reader.u32()) }
        let types = try reader.array { reader throws(TokenizerError) in Int32(bitPattern: try reader.u32()) }
        let merges = try reader.array { reader throws(TokenizerError) in try reader.string() }
        guard reader.isAtEnd else { throw .invalidVocabulary("serialized vocabulary has trailing bytes") }
        try self.init(
            model: model, pre: hasPre ? pre : nil, tokens: tokens, scores: scores.isEmpty ? nil : scores,
            types: types.isEmpty ? nil : types, merges: merges,
            specialIDs: SpecialIDs(bos: ids[0], eos: ids[1], eot: ids[2], eom: ids[3], unknown: ids[4],
                                   padding: ids[5]),
            addBOS: flags & 1 != 0, addEOS: flags & 2 != 0, addSpacePrefix: flags & 4 != 0)
    }

    /// The first 16 hex digits of the SHA-256 of ``serialized()``: identifies the tokenizer on the wire.
    public var fingerprint: String { Fingerprint.short(serialized()) }

    /// The wire name of a vocabulary fingerprint: `gguf-vocab:<fingerprint>`.
    public static func wireName(fingerprint: String) -> String { wirePrefix + fingerprint }

    /// The prefix of wire names of GGUF vocabularies.
    public static let wirePrefix = "gguf-vocab:"
}

/// Appends little-endian integers and length-prefixed strings.
struct ByteWriter {
    var output: [UInt8] = []
    mutating func bytes(_ bytes: [UInt8]) { output += bytes }
    mutating func u8(_ value: UInt8) { output.append(value) }
    mutating func u32(_ value: UInt32) {
        withUnsafeBytes(of: value.littleEndian) { output += $0 }
    }
    mutating func string(_ value: String) {
        u32(UInt32(value.utf8.count))
        output += value.utf8
    }
}

/// Reads what ``ByteWriter`` wrote; every read checks the remaining length.
struct ByteReader {
    let bytes: [UInt8]
    var offset = 0
    var isAtEnd: Bool { offset == bytes.count }

    mutating func bytes(_ count: Int) throws(TokenizerError) -> ArraySlice<UInt8> {
        guard count >= 0, count <= bytes.count - offset else {
            throw .invalidVocabulary("serialized vocabulary is truncated at byte \(offset)")
        }
        defer { offset += count }
        return bytes[offset ..< offset + count]
    }
    mutating func u8() throws(TokenizerError) -> UInt8 { try bytes(1).first! }
    mutating func u32() throws(TokenizerError) -> UInt32 {
        let slice = try bytes(4)
        return slice.reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }
    mutating func string() throws(TokenizerError) -> String {
        let length = Int(try u32())
        let slice = try bytes(length)
        guard let text = String(validating: slice, as: UTF8.self) else {
            throw .invalidVocabulary("serialized vocabulary holds invalid UTF-8 at byte \(offset - length)")
        }
        return text
    }
    mutating func array<T>(_ element: (inout ByteReader) throws(TokenizerError) -> T) throws(TokenizerError) -> [T] {
        let count = Int(try u32())
        guard count <= bytes.count - offset else {
            throw .invalidVocabulary("serialized vocabulary claims \(count) entries past its end")
        }
        var result: [T] = []
        result.reserveCapacity(count)
        for _ in 0 ..< count { result.append(try element(&self)) }
        return result
    }
}
