import ShardProtocol
@testable import ShardSidecarCore
import Testing

@Suite("Peer defaults")
struct PeerDefaultsTests {
    /// A peer sends what the sidecar asks for unless told otherwise.
    @Test func aPeerFollowsTheSidecarUnlessConfigured() {
        #expect(PeerServer.Configuration().hiddenType == nil)
        #expect(PeerServer.Configuration(hiddenType: .f32).hiddenType == .f32)
    }

    /// Hidden states cross links between machines in half precision; on this machine's loopback they stay f32,
    /// so the tokens equal those of one process.
    @Test func hiddenStatesAreF16BetweenMachinesAndF32OnLoopback() {
        #expect(Sidecar.hiddenType(forPeer: "ws://127.0.0.1:9000/peer") == .f32)
        #expect(Sidecar.hiddenType(forPeer: "ws://localhost:9000/peer") == .f32)
        #expect(Sidecar.hiddenType(forPeer: "ws://[::1]:9000/peer") == .f32)
        #expect(Sidecar.hiddenType(forPeer: "ws://10.0.0.2:9000/peer") == .f16)
        #expect(Sidecar.hiddenType(forPeer: "ws://gpu-box.local:9000/peer") == .f16)
        #expect(Sidecar.hiddenType(forPeer: "ws://[fd00::2]:9000/peer") == .f16)
    }
}
