// The generic entry points for GGML block-quantized weights: type tables, activation quantization,
// dequantization, and the matrix product loop over the per-type dot products.
//
// Batch invariance: every output element is its type's dot product of one weight row and one activation row, in
// one fixed order; nothing depends on the batch size, the row range or the element's position. The loop visits
// each weight row once and dots it with every batch row while it is in cache, up to 8 batch rows per pass of the
// multi-row kernels, which unpack each weight block once for the group and give each row the single-row bits.
#include "quant_internal.h"

int64_t shard_block_values(int type) {
    switch (type) {
    case SHARD_TYPE_F32: case SHARD_TYPE_F16: case SHARD_TYPE_BF16: return 1;
    case SHARD_TYPE_Q4_0: case SHARD_TYPE_Q4_1: case SHARD_TYPE_Q5_0: case SHARD_TYPE_Q5_1:
    case SHARD_TYPE_Q8_0: case SHARD_TYPE_Q8_1: return QK;
    case SHARD_TYPE_Q2_K: case SHARD_TYPE_Q3_K: case SHARD_TYPE_Q4_K: case SHARD_TYPE_Q5_K:
    case SHARD_TYPE_Q6_K: case SHARD_TYPE_Q8_K: return QKK;
    default: return 0;
    }
}

int64_t shard_block_bytes(int type) {
    switch (type) {
    case SHARD_TYPE_F32: return 4;
    case SHARD_TYPE_F16: case SHARD_TYPE_BF16: return 2;
    case SHARD_TYPE_Q4_0: return BYTES_Q4_0;
    case SHARD_TYPE_Q4_1: return BYTES_Q4_1;
    case SHARD_TYPE_Q5_0: return BYTES_Q5_0;
    case SHARD_TYPE_Q5_1: return BYTES_Q5_1;
    case SHARD_TYPE_Q8_0: return BYTES_Q8_0;
    case SHARD_TYPE_Q8_1: return BYTES_Q8_1;
    case SHARD_TYPE_Q2_K: return BYTES_Q2_K;
    case SHARD_TYPE_Q3_K: return BYTES_Q3_K;
    case SHARD_TYPE_Q4_K: return BYTES_Q4_K;
    case SHARD_TYPE_Q5_K: return BYTES_Q5_K;
    case SHARD_TYPE_Q6_K: return BYTES_Q6_K;
    case SHARD_TYPE_Q8_K: return BYTES_Q8_K;
    default: return 0;
    }
}

int64_t shard_row_bytes(int type, int64_t n) {
    const int64_t values = shard_block_values(type);
    if (values == 0 || n < 0 || n % values != 0) return -1;
    return n / values * shard_block_bytes(type);
}

int shard_dequantize_supported(int type) { return shard_block_values(type) != 0; }

int shard_activation_type(int type) {
    switch (type) {
    case SHARD_TYPE_Q4_0: case SHARD_TYPE_Q5_0: case SHARD_TYPE_Q8_0: return SHARD_TYPE_Q8_0;
    case SHARD_TYPE_Q4_1: case SHARD_TYPE_Q5_1: return SHARD_TYPE_Q8_1;
    case SHARD_TYPE_Q2_K: case SHARD_TYPE_Q3_K: case SHARD_TYPE_Q4_K: case SHARD_TYPE_Q5_K:
    case SHARD_TYPE_Q6_K: return SHARD_TYPE_Q8_K;
    default: return -1;
    }
}

int shard_weight_type_supported(int type) { return shard_activation_type(type) >= 0; }

void shard_quantize_activations(int act_type, const float *source, void *destination, int64_t n) {
    switch (act_type) {
    case SHARD_TYPE_Q8_0: shard_quantize_row_q8_0(source, destination, n); return;
    case SHARD_TYPE_Q8_1: shard_quantize_row_q8_1(source, destination, n); return;
    case SHARD_TYPE_Q8_K: shard_quantize_row_q8_k(source, destination, n); return;
    default: return;
    }
}

void shard_quantize_activations_portable(int act_type, const float *source, void *destination, int64_t n) {
    switch (act_type) {
    case SHARD_TYPE_Q8_0: shard_quantize_row_q8_0_portable(source, destination, n); return;
    case SHARD_TYPE_Q8_1: shard_quantize_row_q8_1_portable(source, destination, n); return;
    case SHARD_TYPE_Q8_K: shard_quantize_row_q8_k_portable(source, destination, n); return;
    default: return;
    }
}

/// bfloat16 is the upper half of a float: exact.
static float bf16_to_f32(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    const uint32_t wide = (uint32_t)bits << 16;
    float value;
    memcpy(&value, &wide, 4);
    return value;
}

void shard_dequantize_row(int type, const void *source, float *destination, int64_t n) {
    const uint8_t *s = (const uint8_t *)source;
    if (shard_row_bytes(type, n) < 0) return;
    switch (type) {
    case SHARD_TYPE_F32: memcpy(destination, source, (size_t)n * sizeof(float)); return;
    case SHARD_TYPE_F16:
        for (int64_t i = 0; i < n; i++) destination[i] = load_half(s + 2 * i);
        return;
    case SHARD_TYPE_BF16:
        for (int64_t i = 0; i < n; i++) destination[i] = bf16_to_f32(s + 2 * i);
        return;
    default:
        if (shard_block_values(type) == QK)
            shard_dequantize_blocks32(type, s, destination, n / QK);
        else
            shard_dequantize_blocks256(type, s, destination, n / QKK);
        return;
    }
}

// MARK: matrix product

static quant_dot_fn portable_dot(int type) {
    switch (type) {
    case SHARD_TYPE_Q4_0: return shard_dot_q4_0_scalar;
    case SHARD_TYPE_Q4_1: return shard_dot_q4_1_scalar;
    case SHARD_TYPE_Q5_0: return shard_dot_q5_0_scalar;
    case SHARD_TYPE_Q5_1: return shard_dot_q5_1_scalar;
    case SHARD_TYPE_Q8_0: return shard_dot_q8_0_scalar;
    case SHARD_TYPE_Q2_K: return shard_dot_q2_k_scalar;
    case SHARD_TYPE_Q3_K: return shard_dot_q3_k_scalar;
    case SHARD_TYPE_Q4_K: return shard_dot_q4_k_scalar;
    case SHARD_TYPE_Q5_K: return shard_dot_q5_k_scalar;
    case SHARD_TYPE_Q6_K: return shard_dot_q6_k_scalar;
    default: return 0;
    }
}

int shard_quantized_uses_simd(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0)
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    return cached;
#else
    return 0;
#endif
}

static quant_dot_fn simd_dot(int type) {
#if defined(__x86_64__)
    if (!shard_quantized_uses_simd()) return portable_dot(type);
    switch (type) {
    case SHARD_TYPE_Q4_0: return shard_dot_q4_0_avx2;
    case SHARD_TYPE_Q4_1: return shard_dot_q4_1_avx2;
    case SHARD_TYPE_Q5_0: return shard_dot_q5_0_avx2;
    case SHARD_TYPE_Q5_1: return shard_dot_q5_1_avx2;
    case SHARD_TYPE_Q8_0: return shard_dot_q8_0_avx2;
    case SHARD_TYPE_Q2_K: return shard_dot_q2_k_avx2;
    case SHARD_TYPE_Q3_K: return shard_dot_q3_k_avx2;
    case SHARD_TYPE_Q4_K: return shard_dot_q4_k_avx2;
    case SHARD_TYPE_Q5_K: return shard_dot_q5_k_avx2;
    case SHARD_TYPE_Q6_K: return shard_dot_q6_k_avx2;
    default: return 0;
    }
#else
    return portable_dot(type);
#endif
}

/// The multi-row kernel of `type` on this machine, or 0 where the single-row kernel serves every row (the portable
/// path, Q3_K, Q6_K).
static quant_dot_rows_fn simd_dot_rows(int type) {
#if defined(__x86_64__)
    if (!shard_quantized_uses_simd()) return 0;
    switch (type) {
    case SHARD_TYPE_Q4_0: return shard_dot_rows_q4_0_avx2;
    case SHARD_TYPE_Q4_1: return shard_dot_rows_q4_1_avx2;
    case SHARD_TYPE_Q5_0: return shard_dot_rows_q5_0_avx2;
    case SHARD_TYPE_Q5_1: return shard_dot_rows_q5_1_avx2;
    case SHARD_TYPE_Q2_K: return shard_dot_rows_q2_k_avx2;
    case SHARD_TYPE_Q4_K: return shard_dot_rows_q4_k_avx2;
    case SHARD_TYPE_Q5_K: return shard_dot_rows_q5_k_avx2;
    case SHARD_TYPE_Q6_K: return shard_dot_rows_q6_k_avx2;
    default: return 0;
    }
#else
    (void)type;
    return 0;
#endif
}

#if defined(__x86_64__)
/// Whether the AVX-512 VNNI multi-row kernels of quants_rows_vnni.c run here (checked once).
static int uses_vnni(void) {
    static int cached = -1;
    if (cached < 0)
        cached = shard_quantized_uses_simd() && __builtin_cpu_supports("avx512f") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    return cached;
}
#endif

/// Batch rows in groups of 8 (the last group 3 ... 7) go through `rows`, when there is one; one or two left over
/// go through `dot`; on AVX-512 VNNI machines the groups of Q4_0, Q4_1, Q5_0 and Q5_1 go through
/// `shard_matmul_rows32_vnni` instead. All give the same bits for an element, so the grouping never shows.
/// `vnni` 0 keeps them on `rows` (to test one path against the other).
static void matmul_with(quant_dot_fn dot, quant_dot_rows_fn rows, int vnni, int type, const void *weights,
                        int64_t n_in, const void *input, int64_t batch, float *output, int64_t ldy, int64_t row_begin,
                        int64_t row_end) {
    const int act = shard_activation_type(type);
    const int64_t w_row = shard_row_bytes(type, n_in), x_row = shard_row_bytes(act, n_in);
    if (!dot || w_row < 0 || x_row < 0) return;
    const int64_t blocks = n_in / shard_block_values(type);
    const uint8_t *w = (const uint8_t *)weights, *x = (const uint8_t *)input;
    int64_t done = 0;  // batch rows computed by a whole-range kernel
#if defined(__x86_64__)
    if (rows && vnni && batch >= 3 && row_end > row_begin && uses_vnni())
        done = shard_matmul_rows32_vnni(type, w, w_row, x, x_row, batch, blocks, output, ldy, row_begin, row_end);
#endif
    for (int64_t o = row_begin; o < row_end; o++) {
        int64_t b = done;
        if (rows) {
            while (batch - b >= 3) {
                const int count = batch - b < 8 ? (int)(batch - b) : 8;
                float out[8];
                rows(w + o * w_row, x + b * x_row, x_row, count, blocks, out);
                for (int r = 0; r < count; r++) output[(b + r) * ldy + o] = out[r];
                b += count;
            }
        }
        for (; b < batch; b++) output[b * ldy + o] = dot(w + o * w_row, x + b * x_row, blocks);
    }
}

void shard_matmul_quantized(int type, const void *weights, int64_t n_in, const void *input, int64_t batch,
                            float *output, int64_t ldy, int64_t row_begin, int64_t row_end) {
    if (type == SHARD_TYPE_Q8_0 && shard_quantized_uses_simd()) {
        // The tiled Q8_0 kernel of matmul.c follows the same per-element order as shard_dot_q8_0_avx2.
        shard_matmul_q8_0(weights, n_in, input, batch, output, ldy, row_begin, row_end);
        return;
    }
    matmul_with(simd_dot(type), simd_dot_rows(type), 1, type, weights, n_in, input, batch, output, ldy, row_begin,
                row_end);
}

void shard_matmul_quantized_avx2(int type, const void *weights, int64_t n_in, const void *input, int64_t batch,
                                 float *output, int64_t ldy, int64_t row_begin, int64_t row_end) {
    matmul_with(simd_dot(type), simd_dot_rows(type), 0, type, weights, n_in, input, batch, output, ldy, row_begin,
                row_end);
}

void shard_matmul_quantized_portable(int type, const void *weights, int64_t n_in, const void *input,
                                     int64_t batch, float *output, int64_t ldy, int64_t row_begin,
                                     int64_t row_end) {
    matmul_with(portable_dot(type), 0, 0, type, weights, n_in, input, batch, output, ldy, row_begin, row_end);
}
