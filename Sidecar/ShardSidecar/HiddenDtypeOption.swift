import ArgumentParser
import ShardProtocol

/// `auto`, `f16` or `f32`: the element type of hidden states on peer links, as `serve --link-dtype` and
/// `peer --hidden-dtype` take it.
enum HiddenDtypeOption: String, ExpressibleByArgument, CaseIterable {
    case auto, f16, f32

    /// The element type forced by the option; `nil` for `auto`.
    var dtype: PeerFrame.DType? { PeerFrame.DType(hiddenStateName: rawValue) }
}
