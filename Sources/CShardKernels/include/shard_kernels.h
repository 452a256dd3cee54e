/// Numeric kernels of the Shard engine: half-precision conversion, Q8_0 quantization, batch-invariant
/// matrix products, and the element-wise parts of a Llama block.
///
/// "Batch-invariant" means each output element is computed with the same operations in the same order whatever
/// the number of input rows, so a sequence gets bit-identical results alone or batched with others.
/// AVX2/FMA code paths are chosen at run time; a portable scalar path is used elsewhere.
#ifndef SHARD_KERNELS_H
#define SHARD_KERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Values per Q8_0 block.
#define SHARD_Q8_0_BLOCK 32
/// Bytes per Q8_0 block: a half-precision scale followed by 32 signed bytes.
#define SHARD_Q8_0_BYTES 34

/// Converts IEEE half-precision bits to a float.
float shard_f16_to_f32(uint16_t bits);
/// Converts a float to IEEE half-precision bits, rounding to nearest even.
uint16_t shard_f32_to_f16(float value);
/// Converts `count` half-precision values to floats.
void shard_f16_to_f32_row(const uint16_t *source, float *destination, int64_t count);

/// Quantizes `count` floats (a multiple of 32) into Q8_0 blocks, as llama.cpp quantizes activations.
void shard_quantize_row_q8_0(const float *source, void *blocks, int64_t count);
/// Expands `count` values of Q8_0 blocks into floats.
void shard_dequantize_row_q8_0(const void *blocks, float *destination, int64_t count);

/// Y[b * ldy + o] = dot(W[o], X[b]) for o in [row_begin, row_end) and b in [0, batch).
/// W is row-major `rows x n_in` floats, X is `batch x n_in` floats.
/// Each element is bit-identical whatever `batch`, the row range, or the element's position in the batch:
/// on AVX2/FMA machines, one 8-lane FMA accumulator over k in steps of 8, a fixed horizontal sum, then an FMA per
/// remaining k (see matmul.c). Several rows are computed together only for memory and register reuse.
void shard_matmul_f32(const float *weights, int64_t n_in, const float *input, int64_t batch, float *output,
                      int64_t ldy, int64_t row_begin, int64_t row_end);

/// As `shard_matmul_f32`, with W in Q8_0 blocks (`n_in / 32` blocks per row) and X already quantized to Q8_0.
/// Same batch invariance; per block, acc = fma(f32(w.d) * f32(x.d), float(exact int32 lane sums), acc), then a
/// fixed horizontal sum. AVX2 and AVX-512 VNNI machines give identical results.
void shard_matmul_q8_0(const void *weights, int64_t n_in, const void *input_blocks, int64_t batch, float *output,
                       int64_t ldy, int64_t row_begin, int64_t row_end);

/// y = x / sqrt(mean(x^2) + eps) * weight.
void shard_rmsnorm(const float *x, const float *weight, float *y, int64_t count, float eps);

/// gate[i] = silu(gate[i]) * up[i].
void shard_silu_mul(float *gate, const float *up, int64_t count);

/// y[i] += x[i].
void shard_add(float *y, const float *x, int64_t count);

/// A chunk of a split job: `[begin, end)`.
typedef void (*shard_chunk_fn)(void *context, int64_t begin, int64_t end);

/// Runs `fn(context, 0, split)` on the calling thread and `fn(context, split, count)` on a persistent helper
/// thread, and returns 1 when both are done. Returns 0 without running anything when the helper is busy with
/// another caller's job or could not be started: the caller then runs the work itself.
int shard_parallel_split(shard_chunk_fn fn, void *context, int64_t split, int64_t count);

#ifdef __cplusplus
}
#endif

#endif
