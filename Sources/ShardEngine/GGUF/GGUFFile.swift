import ShardTokenizers

/// A parsed, memory-mapped GGUF file (versions 2 and 3): metadata, tensor directory and tensor data.
///
/// Parsing validates every count, length, type, offset and size against the file before use; tensor data is not
/// copied, ``tensorData(_:)`` hands out views into the mapping.
public final class GGUFFile: Sendable {
    /// The underlying mapping; tensor data points into it.
    public let mapping: MappedFile
    /// The GGUF version (2 or 3).
    public let version: UInt32
    /// Metadata key-value pairs.
    public let metadata: [String: GGUFValue]
    /// Tensors in file order.
    public let tensors: [GGUFTensorInfo]
    /// Tensor lookup by name.
    public let tensorsByName: [String: GGUFTensorInfo]
    /// Alignment of tensor data (`general.alignment`, default 32).
    public let alignment: Int

    /// Maps and parses the file at `path`.
    ///
    /// - Throws: ``GGUFError`` naming the first problem found.
    public convenience init(path: String) throws(GGUFError) {
        try self.init(mapping: MappedFile(path: path))
    }

    /// Parses an existing mapping.
    public init(mapping: MappedFile) throws(GGUFError) {
        self.mapping = mapping
        var reader = ByteReader(mapping.bytes)
        guard mapping.bytes.count >= 4, try reader.read(UInt32.self, "magic") == 0x4655_4747 else { throw .badMagic }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw .unsupportedVersion(version) }
        // The smallest tensor info is a 1-byte name + dims count + 1 dim + type + offset = 8+1+4+8+4+8 bytes.
        let tensorCount = try reader.readCount("tensor count", minimumElementBytes: 33)
        // The smallest key-value pair is an empty key + type + a 1-byte value.
        let metadataCount = try reader.readCount("metadata count", minimumElementBytes: 13)

        var metadata: [String: GGUFValue] = [:]
        for index in 0 ..< metadataCount {
            let key = try reader.readString("metadata key \(index)")
            let type = try reader.read(UInt32.self, "type of \(key)")
            metadata[key] = try Self.readValue(type: type, key: key, reader: &reader, depth: 0)
        }
        self.metadata = metadata

        var alignment = 32
        if let value = metadata["general.alignment"] {
            guard let align = value.intValue, align > 0, align <= 1 << 20, align & (align - 1) == 0 else {
                throw .absurdValue("general.alignment must be a power of two, got \(value)")
            }
            alignment = align
        }
        self.alignment = alignment

        var directory: [(name: String, dims: [Int], type: GGMLType, offset: UInt64)] = []
        for index in 0 ..< tensorCount {
            let name = try reader.readString("name of tensor \(index)")
            let dimensionCount = try reader.read(UInt32.self, "dimension count of \(name)")
            guard (1 ... 4).contains(dimensionCount) else {
                throw .absurdValue("tensor \(name) has \(dimensionCount) dimensions (1 to 4 allowed)")
            }
            var dims: [Int] = []
            for _ in 0 ..< dimensionCount {
                let dim = try reader.read(UInt64.self, "dimensions of \(name)")
                guard dim > 0, dim <= UInt64(mapping.bytes.count) * 8 else {
                    throw .absurdValue("tensor \(name) has dimension \(dim)")
                }
                dims.append(Int(dim))
            }
            let code = try reader.read(UInt32.self, "type of \(name)")
            guard let type = GGMLType(rawValue: code) else { throw .unknownTensorType(name: name, code: code) }
            let offset = try reader.read(UInt64.self, "offset of \(name)")
            directory.append((name, dims, type, offset))
        }

        let dataStart = (reader.offset + alignment - 1) / alignment * alignment
        var tensors: [GGUFTensorInfo] = []
        var byName: [String: GGUFTensorInfo] = [:]
        for entry in directory {
            let info = try Self.locate(entry, dataStart: dataStart, alignment: alignment, fileSize: mapping.bytes.count)
            guard byName[info.name] == nil else { throw .duplicateTensor(info.name) }
            byName[info.name] = info
            tensors.append(info)
        }
        self.tensors = tensors
        self.tensorsByName = byName
    }

    private static func locate(_ entry: (name: String, dims: [Int], type: GGMLType, offset: UInt64), dataStart: Int,
                               alignment: Int, fileSize: Int) throws(GGUFError) -> GGUFTensorInfo {
        var elements = 1
        for dim in entry.dims {
            let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
            guard !overflow, product <= fileSize * 8 else {
                throw .absurdValue("tensor \(entry.name) has too many elements for the file")
            }
            elements = product
        }
        guard entry.dims[0] % entry.type.blockSize == 0 else {
            throw .absurdValue("tensor \(entry.name): row length \(entry.dims[0]) is not a multiple of the "
                + "\(entry.type) block size \(entry.type.blockSize)")
        }
        let byteCount = elements / entry.type.blockSize * entry.type.blockBytes
        guard entry.offset % UInt64(alignment) == 0 else {
            throw .tensorOutOfBounds("tensor \(entry.name) offset \(entry.offset) is not aligned to \(alignment)")
        }
        guard entry.offset <= UInt64(fileSize), dataStart + Int(entry.offset) + byteCount <= fileSize else {
            throw .tensorOutOfBounds("tensor \(entry.name) (\(byteCount) bytes at data offset \(entry.offset)) "
                + "extends past the end of the file (\(fileSize) bytes)")
        }
        return GGUFTensorInfo(name: entry.name, dimensions: entry.dims, type: entry.type,
                              fileOffset: dataStart + Int(entry.offset), byteCount: byteCount)
    }

    private static func readValue(type: UInt32, key: String, reader: inout ByteReader,
                                  depth: Int) throws(GGUFError) -> GGUFValue {
        let what = "value of \(key)"
        switch type {
        case 0: return .uint(UInt64(try reader.read(UInt8.self, what)))
        case 1: return .int(Int64(try reader.read(Int8.self, what)))
        case 2: return .uint(UInt64(try reader.read(UInt16.self, what)))
        case 3: return .int(Int64(try reader.read(Int16.self, what)))
        case 4: return .uint(UInt64(try reader.read(UInt32.self, what)))
        case 5: return .int(Int64(try reader.read(Int32.self, what)))
        case 6: return .float(Double(Float(bitPattern: try reader.read(UInt32.self, what))))
        case 7:
            let byte = try reader.read(UInt8.self, what)
            guard byte <= 1 else { throw .absurdValue("\(key): boolean byte \(byte)") }
            return .bool(byte == 1)
        case 8: return .string(try reader.readString(what))
        case 9:
            guard depth < 2 else { throw .absurdValue("\(key): arrays nested too deeply") }
            let elementType = try reader.read(UInt32.self, "element type of \(key)")
            let minimum = [0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 8: 8, 9: 12, 10: 8, 11: 8, 12: 8][elementType]
            guard let minimum else { throw .unknownValueType(elementType) }
            let count = try reader.readCount("element count of \(key)", minimumElementBytes: minimum)
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            for _ in 0 ..< count {
                values.append(try readValue(type: elementType, key: key, reader: &reader, depth: depth + 1))
            }
            return .array(values)
        case 10: return .uint(try reader.read(UInt64.self, what))
        case 11: return .int(try reader.read(Int64.self, what))
        case 12: return .float(Float64(bitPattern: try reader.read(UInt64.self, what)))
        default: throw .unknownValueType(type)
        }
    }

    /// The raw bytes of a tensor, a view into the mapping valid while this file is alive.
    public func tensorData(_ info: GGUFTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.bytes[info.fileOffset ..< info.fileOffset + info.byteCount])
    }

    /// The SHA-256 of the whole file, lowercase hex: the model id peers compare.
    public func sha256Hex() -> String { ShardTokenizers.Fingerprint.sha256Hex(mapping.bytes) }
}
