import CSentencePiece
import Foundation

/// A tokenizer backed by libsentencepiece and a SentencePiece `.model` file.
///
/// Loading reads the whole file (they are small) so that the fingerprint and the loaded model describe
/// exactly the same bytes.
public struct SentencePieceTokenizer: Tokenizer {
    private let handle: Handle
    /// The path the model was loaded from, or `nil` when it was loaded from bytes.
    public let modelPath: String?
    /// The serialized model, as loaded; a sidecar serves these bytes so clients tokenize identically.
    public let modelData: [UInt8]
    /// Number of pieces in the model.
    public let vocabularySize: Int
    /// The `<s>` id, when the vocabulary has one.
    public let bosTokenID: TokenID?
    /// The `</s>` id, when the vocabulary has one.
    public let eosTokenID: TokenID?
    /// Identifies the vocabulary (see ``Tokenizer/fingerprint``).
    public let fingerprint: String

    /// Loads a SentencePiece model file.
    ///
    /// - Throws: ``TokenizerError/fileUnreadable(path:reason:)`` when the file is missing or unreadable,
    ///   ``TokenizerError/corruptModel(path:reason:)`` when it is not a SentencePiece model.
    public init(contentsOf path: String) throws(TokenizerError) {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw .fileUnreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        try self.init(modelData: [UInt8](data), path: path)
    }

    /// Loads a model from its serialized bytes. `path` only names the source in errors.
    ///
    /// - Throws: ``TokenizerError/corruptModel(path:reason:)`` when the bytes are not a SentencePiece model.
    public init(modelData: [UInt8], path: String? = nil) throws(TokenizerError) {
        let label = path ?? "<memory>"
        guard !modelData.isEmpty else { throw .corruptModel(path: label, reason: "the file is empty") }
        var message = [CChar](repeating: 0, count: 512)
        let pointer = modelData.withUnsafeBytes { bytes in
            shard_spm_load_bytes(bytes.baseAddress, bytes.count, &message, message.count)
        }
        guard let pointer else {
            let reason = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw .corruptModel(path: label, reason: reason)
        }
        let handle = Handle(pointer)
        let size = Int(shard_spm_vocab_size(pointer))
        guard size > 0 else { throw .corruptModel(path: label, reason: "the model has an empty vocabulary") }
        self.handle = handle
        self.modelPath = path
        self.modelData = modelData
        self.vocabularySize = size
        let bos = shard_spm_bos_id(pointer), eos = shard_spm_eos_id(pointer)
        self.bosTokenID = bos >= 0 ? bos : nil
        self.eosTokenID = eos >= 0 ? eos : nil
        self.fingerprint = Fingerprint.short(modelData)
    }

    public func encode(_ text: String, addBOS: Bool) -> [TokenID] {
        var utf8 = Array(text.utf8)
        var ids = [TokenID](repeating: 0, count: utf8.count + 2)
        var count = shard_spm_encode(handle.pointer, &utf8, utf8.count, &ids, Int32(ids.count))
        if count > ids.count {
            ids = [TokenID](repeating: 0, count: Int(count))
            count = shard_spm_encode(handle.pointer, &utf8, utf8.count, &ids, Int32(ids.count))
        }
        // Encoding valid UTF-8 cannot fail in SentencePiece; a negative count would mean a library fault.
        let result = Array(ids.prefix(Int(max(count, 0))))
        if addBOS, let bos = bosTokenID { return [bos] + result }
        return result
    }

    public func decode(_ ids: [TokenID]) throws(TokenizerError) -> String {
        try validate(ids)
        if ids.isEmpty { return "" }
        var buffer = [CChar](repeating: 0, count: ids.count * 16 + 16)
        var length = shard_spm_decode(handle.pointer, ids, Int32(ids.count), &buffer, buffer.count)
        if length > buffer.count {
            buffer = [CChar](repeating: 0, count: Int(length))
            length = shard_spm_decode(handle.pointer, ids, Int32(ids.count), &buffer, buffer.count)
        }
        guard length >= 0 else { throw .libraryFailure("SentencePiece could not decode \(ids.count) ids") }
        return String(decoding: buffer.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The piece text of an id (`▁the`, `<0xE2>`, `<s>`), or `nil` when it is out of range.
    public func piece(for id: TokenID) -> String? {
        var buffer = [CChar](repeating: 0, count: 256)
        let length = shard_spm_id_to_piece(handle.pointer, id, &buffer, buffer.count)
        guard length >= 0 else { return nil }
        return String(decoding: buffer.prefix(Int(min(length, 256))).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension SentencePieceTokenizer {
    /// Owns the C++ processor. SentencePiece's encode and decode are `const` and thread-safe, and the handle is
    /// never mutated after loading, so sharing it between threads is safe.
    final class Handle: @unchecked Sendable {
        let pointer: OpaquePointer
        init(_ pointer: OpaquePointer) { self.pointer = pointer }
        deinit { shard_spm_free(pointer) }
    }
}
