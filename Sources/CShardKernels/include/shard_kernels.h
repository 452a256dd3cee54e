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

// MARK: GGML block-quantized weights (llama.cpp's Q4_0 ... Q6_K layouts) and their products

/// GGML type numbers of the element types these kernels read (the numbering of GGUF files).
enum {
    SHARD_TYPE_F32 = 0, SHARD_TYPE_F16 = 1, SHARD_TYPE_Q4_0 = 2, SHARD_TYPE_Q4_1 = 3, SHARD_TYPE_Q5_0 = 6,
    SHARD_TYPE_Q5_1 = 7, SHARD_TYPE_Q8_0 = 8, SHARD_TYPE_Q8_1 = 9, SHARD_TYPE_Q2_K = 10, SHARD_TYPE_Q3_K = 11,
    SHARD_TYPE_Q4_K = 12, SHARD_TYPE_Q5_K = 13, SHARD_TYPE_Q6_K = 14, SHARD_TYPE_Q8_K = 15, SHARD_TYPE_BF16 = 30
};

/// 1 when `shard_matmul_quantized` accepts weights of `ggml_type` (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K ... Q6_K),
/// else 0.
int shard_weight_type_supported(int ggml_type);
/// 1 when `shard_dequantize_row` reads `ggml_type` (the weight types above, F32, F16, BF16, Q8_1, Q8_K), else 0.
int shard_dequantize_supported(int ggml_type);
/// The activation type a weight type is multiplied against: Q8_0 for Q4_0/Q5_0/Q8_0, Q8_1 for Q4_1/Q5_1, Q8_K
/// for the K types. -1 for a type `shard_matmul_quantized` does not accept.
int shard_activation_type(int ggml_type);
/// Values per block of `ggml_type` (1 for F32/F16/BF16, 32, or 256); 0 for a type these kernels do not read.
int64_t shard_block_values(int ggml_type);
/// Bytes of one row of `n` values of `ggml_type`; -1 when the type is not read here or `n` is negative or not a
/// multiple of its block size.
int64_t shard_row_bytes(int ggml_type, int64_t n);

/// Quantizes `n` floats (a multiple of the block size) to activation type `act_type` (Q8_0, Q8_1 or Q8_K) exactly
/// as llama.cpp quantizes activations: Q8_0 and Q8_1 with d = max|x| / 127 (Q8_1 also s = d * sum of the quants),
/// Q8_K with d = max / -127 of the value of largest magnitude, a float, and the sum of each 16 quants. Other
/// types write nothing.
void shard_quantize_activations(int act_type, const float *source, void *destination, int64_t n);

/// As `shard_quantize_activations`, always on the portable scalar path (`shard_quantize_activations` uses AVX2
/// where the machine has it; both write the same bytes). For tests comparing the two paths.
void shard_quantize_activations_portable(int act_type, const float *source, void *destination, int64_t n);

/// Expands `n` values (a multiple of the block size) of `ggml_type` into floats, as llama.cpp's dequantize_row_*.
/// A type `shard_dequantize_supported` rejects writes nothing.
void shard_dequantize_row(int ggml_type, const void *source, float *destination, int64_t n);

/// Y[b * ldy + o] = dot(W[o], X[b]) for o in [row_begin, row_end) and b in [0, batch), computed in the quantized
/// domain: W is row-major, `shard_row_bytes(ggml_type, n_in)` bytes a row; X holds `batch` rows of `n_in` values
/// already quantized to `shard_activation_type(ggml_type)`.
///
/// Each element is one dot product in a fixed order whatever `batch`, the row range or its place in the batch:
/// the order of the kernel llama.cpp's x86 CPU backend runs for a single token, so the bits are llama.cpp's:
/// - Q4_1, Q5_0, Q5_1, Q8_0 (its ggml_vec_dot_*): 8 float lanes; per block, lane i += f32(w.d) * f32(x.d) *
///   float(exact integer sum of values 4i..4i+3) (one rounded product, then one fma); the lanes are summed by a
///   fixed tree; Q4_1/Q5_1 add a separate running fma over blocks of f32(w.m) * f32(x.s).
/// - Q4_0, Q4_K, Q2_K (matrices it repacks; its q*_8x8 gemv): the exact integer sums of each block into one float
///   chain s = fma(float(sum), w.d * x.d, s) (Q4_0), or two chains for the scaled quants and the mins,
///   s = fma(float(sumi), d * x.d, s), m = fma(float(summ), dmin * x.d, m), and the result s - m (Q4_K, Q2_K).
/// - Q3_K, Q5_K, Q6_K (its ggml_vec_dot_*_q8_K): 8 exact int32 lanes per block (lane i: the scaled products of
///   values 4i..4i+3 of every 32-value chunk; Q6_K less its -32 offset of chunk i) into 8 float lanes by
///   fma(w.d * x.d, float(lane), lane), summed by the fixed tree; Q5_K adds a chain over its mins.
/// The AVX2 path and the portable path (`shard_matmul_quantized_portable`) give identical bits. With two or more
/// batch rows, the vector path unpacks each weight block once for up to 8 batch rows (multi-row kernels, AVX-512
/// VNNI for Q4_0 ... Q5_1 where the machine has it; Q3_K one row at a time), each element still with the
/// bits of the one-row product. Unsupported types write nothing.
void shard_matmul_quantized(int ggml_type, const void *weights, int64_t n_in, const void *input, int64_t batch,
                            float *output, int64_t ldy, int64_t row_begin, int64_t row_end);

/// As `shard_matmul_quantized`, always on the portable scalar path (for tests comparing the two paths).
void shard_matmul_quantized_portable(int ggml_type, const void *weights, int64_t n_in, const void *input,
                                     int64_t batch, float *output, int64_t ldy, int64_t row_begin,
                                     int64_t row_end);

/// As `shard_matmul_quantized` without the AVX-512 VNNI kernels (for tests comparing them with the AVX2 kernels;
/// Q8_0 goes through the single-row kernel here). The portable path on machines without AVX2.
void shard_matmul_quantized_avx2(int ggml_type, const void *weights, int64_t n_in, const void *input, int64_t batch,
                                 float *output, int64_t ldy, int64_t row_begin, int64_t row_end);

/// 1 when this machine runs the AVX2 paths of the quantized kernels, 0 when it uses the portable path.
int shard_quantized_uses_simd(void);

/// y = x / sqrt(mean(x^2) + eps) * weight.
void shard_rmsnorm(const float *x, const float *weight, float *y, int64_t count, float eps);

/// `shard_rmsnorm` of `rows` contiguous rows of `count` values (x and y may be the same buffer): the bits of one call
/// per row, several rows' sums interleaved (each row's sum is one chain of additions in a fixed order, which a single
/// row leaves waiting on its latency).
void shard_rmsnorm_rows(const float *x, const float *weight, float *y, int64_t rows, int64_t count, float eps);

/// gate[i] = silu(gate[i]) * up[i].
void shard_silu_mul(float *gate, const float *up, int64_t count);

/// exp(x) with the arithmetic of ggml's vectorized ggml_v_expf (llama.cpp's x86 AVX-512 build), the same bits on any
/// machine; used by SiLU and the attention softmax.
float shard_expf_ggml(float x);

/// y[i] += x[i].
void shard_add(float *y, const float *x, int64_t count);

/// A chunk of a split job: `[begin, end)`.
typedef void (*shard_chunk_fn)(void *context, int64_t begin, int64_t end);

/// Runs `fn(context, begin, end)` over the chunks `[i * grain, min((i + 1) * grain, count))` of `[0, count)`, each
/// once, on the calling thread and a persistent helper thread, which claim the chunks in turn; returns 1 when all
/// are done. Returns 0 without running anything when the helper is busy with another caller's job or could not be
/// started (or `count` or `grain` is below 1): the caller then runs the work itself.
int shard_parallel_chunks(shard_chunk_fn fn, void *context, int64_t count, int64_t grain);

/// Cores this process may run on (its CPU affinity, as `taskset` sets it), at least 1.
int shard_available_cores(void);

#ifdef __cplusplus
}
#endif

#endif
