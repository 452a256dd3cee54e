/// WebSocket framing over a ``RawSocket``: enough to send fragments, garbage and huge messages, and to not read.
extension RawSocket {
    /// Performs the upgrade handshake on `path`; returns the server's status (101 on success).
    @discardableResult
    public func upgrade(path: String, headers: [String: String] = [:]) throws -> (status: Int, headers: [String: String]) {
        var request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        try send(request + "\r\n")
        return try readHead()
    }

    /// Sends one masked frame (clients must mask).
    public func sendFrame(opcode: UInt8, _ payload: [UInt8], fin: Bool = true) throws {
        var frame: [UInt8] = [(fin ? 0x80 : 0) | opcode]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else if payload.count <= 0xFFFF {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        } else {
            frame.append(0x80 | 127)
            for shift in stride(from: 56, through: 0, by: -8) { frame.append(UInt8((payload.count >> shift) & 0xFF)) }
        }
        let mask: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        frame += mask
        frame += payload.enumerated().map { $0.element ^ mask[$0.offset % 4] }
        try send(frame)
    }

    /// Reads one (unmasked) server frame.
    public func readFrame() throws -> (fin: Bool, opcode: UInt8, payload: [UInt8]) {
        let head = try read(exactly: 2)
        var length = Int(head[1] & 0x7F)
        if length == 126 {
            let extended = try read(exactly: 2)
            length = Int(extended[0]) << 8 | Int(extended[1])
        } else if length == 127 {
            length = try read(exactly: 8).reduce(0) { $0 << 8 | Int($1) }
        }
        return (head[0] & 0x80 != 0, head[0] & 0x0F, try read(exactly: length))
    }

    /// Skips data frames until a close frame; returns its code (nil if the connection ends first).
    public func readCloseCode() throws -> UInt16? {
        while true {
            guard let frame = try? readFrame() else { return nil }
            if frame.opcode == 8 {
                return frame.payload.count >= 2 ? UInt16(frame.payload[0]) << 8 | UInt16(frame.payload[1]) : 1005
            }
        }
    }
}
