extension LlamaStage {
    /// Scratch buffers reused across steps; grown on demand, never shrunk.
    final class Scratch {
        private var capacityRows = 0
        private(set) var residual = FloatBuffer(count: 0)
        private(set) var normed = FloatBuffer(count: 0)
        private(set) var query = FloatBuffer(count: 0)
        private(set) var key = FloatBuffer(count: 0)
        private(set) var value = FloatBuffer(count: 0)
        private(set) var attention = FloatBuffer(count: 0)
        private(set) var projected = FloatBuffer(count: 0)
        private(set) var gate = FloatBuffer(count: 0)
        private(set) var up = FloatBuffer(count: 0)
        private(set) var quantized = UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 64)

        func ensure(rows: Int, hyper h: LlamaHyperparameters) {
            guard rows > capacityRows else { return }
            let capacity = max(rows, capacityRows * 2)
            let dim = h.embeddingLength
            residual = FloatBuffer(count: capacity * dim)
            normed = FloatBuffer(count: capacity * dim)
            query = FloatBuffer(count: capacity * h.queryWidth)
            key = FloatBuffer(count: capacity * h.kvWidth)
            value = FloatBuffer(count: capacity * h.kvWidth)
            attention = FloatBuffer(count: capacity * h.queryWidth)
            projected = FloatBuffer(count: capacity * dim)
            gate = FloatBuffer(count: capacity * h.feedForwardLength)
            up = FloatBuffer(count: capacity * h.feedForwardLength)
            quantized.deallocate()
            let widest = max(dim, h.feedForwardLength, h.queryWidth)
            quantized = .allocate(byteCount: WeightMatrix.activationScratchBytes(rows: capacity, columns: widest) + 64,
                                  alignment: 64)
            capacityRows = capacity
        }

        deinit { quantized.deallocate() }
    }
}
