import ShardProtocol
@testable import ShardSidecarCore
import Testing

@Suite("Peer defaults")
struct PeerDefaultsTests {
    /// Hidden states cross links between machines in half precision unless f32 is asked for.
    @Test func hiddenStatesTravelAsF16ByDefault() {
        #expect(PeerServer.Configuration().hiddenType == .f16)
        #expect(PeerServer.Configuration(hiddenType: .f32).hiddenType == .f32)
    }
}
