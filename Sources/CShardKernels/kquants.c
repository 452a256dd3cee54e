// The 256-value "K" block types (Q2_K ... Q6_K): dequantization, Q8_K activation quantization, and the portable
// dot products.
//
// Every K type is read the same way here: 256 integer values, a signed integer scale for each group of 16
// values, an optional integer min per group, and two half-precision factors d and dmin; the block represents
// (d * scale[g]) * value - dmin * min[g]. A dot product with a Q8_K block is exact integer arithmetic per block,
// then float steps in the order of the llama.cpp kernel that its x86 CPU backend runs for that type (AVX2 build,
// one order whatever the batch): Q2_K and Q4_K as its repacked `8x8` gemv/gemm (the block's integer sums into two
// float chains), Q3_K, Q5_K and Q6_K as its ggml_vec_dot_*_q8_K (eight integer lanes into eight float lanes). The
// AVX2 path (kquants_avx2.c) computes the same integers and the same float steps, so both paths give the same bits.
#include "quant_internal.h"

#include <math.h>

/// A K block unpacked to integers.
typedef struct {
    int8_t values[QKK];
    int16_t scales[QKK / 16];
    int16_t mins[QKK / 16];
    float d, dmin;
    int has_mins;
} kblock;

static void unpack_q2_k(const uint8_t *b, kblock *k) {
    for (int g = 0; g < 16; g++) {
        k->scales[g] = b[Q2K_SCALES + g] & 0x0F;
        k->mins[g] = b[Q2K_SCALES + g] >> 4;
    }
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++)
                k->values[h * 128 + s * 32 + l] = (int8_t)((b[Q2K_QS + 32 * h + l] >> (2 * s)) & 3);
    k->d = load_half(b + Q2K_D);
    k->dmin = load_half(b + Q2K_DMIN);
    k->has_mins = 1;
}

static void unpack_q3_k(const uint8_t *b, kblock *k) {
    int8_t scales[16];
    q3k_scales(b + Q3K_SCALES, scales);
    for (int g = 0; g < 16; g++) {
        k->scales[g] = scales[g];
        k->mins[g] = 0;
    }
    for (int h = 0; h < 2; h++)
        for (int s = 0; s < 4; s++)
            for (int l = 0; l < 32; l++) {
                const int low = (b[Q3K_QS + 32 * h + l] >> (2 * s)) & 3;
                const int high = (b[Q3K_HMASK + l] >> (4 * h + s)) & 1;  // a set bit means no -4 offset
                k->values[h * 128 + s * 32 + l] = (int8_t)(low - (high ? 0 : 4));
            }
    k->d = load_half(b + Q3K_D);
    k->dmin = 0.0f;
    k->has_mins = 0;
}

/// Q4_K and Q5_K (`qh`: the Q5_K fifth bits, or NULL).
static void unpack_q45_k(const uint8_t *b, const uint8_t *scales_packed, const uint8_t *qs, const uint8_t *qh,
                         kblock *k) {
    uint8_t scales[8], mins[8];
    kquant_scales_mins(scales_packed, scales, mins);
    for (int g = 0; g < 16; g++) {
        k->scales[g] = scales[g / 2];
        k->mins[g] = mins[g / 2];
    }
    for (int c = 0; c < 4; c++)
        for (int s = 0; s < 2; s++)
            for (int l = 0; l < 32; l++) {
                const int j = 2 * c + s;
                int value = (qs[32 * c + l] >> (4 * s)) & 0x0F;
                if (qh) value |= ((qh[l] >> j) & 1) << 4;
                k->values[32 * j + l] = (int8_t)value;
            }
    k->d = load_half(b);
    k->dmin = load_half(b + 2);
    k->has_mins = 1;
}

/// Q6_K with the values q - `bias` (32: the block's values; 0: the unsigned quants).
static void unpack_q6_k(const uint8_t *b, kblock *k, int bias) {
    for (int g = 0; g < 16; g++) {
        k->scales[g] = (int8_t)b[Q6K_SCALES + g];
        k->mins[g] = 0;
    }
    for (int h = 0; h < 2; h++)
        for (int c = 0; c < 4; c++)
            for (int l = 0; l < 32; l++) {
                const uint8_t ql = b[Q6K_QL + 64 * h + 32 * (c % 2) + l];
                const int low = c < 2 ? ql & 0x0F : ql >> 4;
                const int high = (b[Q6K_QH + 32 * h + l] >> (2 * c)) & 3;
                k->values[h * 128 + c * 32 + l] = (int8_t)((low | (high << 4)) - bias);
            }
    k->d = load_half(b + Q6K_D);
    k->dmin = 0.0f;
    k->has_mins = 0;
}

/// Unpacks block `b` of weight type `type` (Q2_K ... Q6_K); returns 0 for any other type.
static int unpack_block256(int type, const uint8_t *b, kblock *k) {
    switch (type) {
    case SHARD_TYPE_Q2_K: unpack_q2_k(b, k); return 1;
    case SHARD_TYPE_Q3_K: unpack_q3_k(b, k); return 1;
    case SHARD_TYPE_Q4_K: unpack_q45_k(b, b + Q4K_SCALES, b + Q4K_QS, NULL, k); return 1;
    case SHARD_TYPE_Q5_K: unpack_q45_k(b, b + Q5K_SCALES, b + Q5K_QS, b + Q5K_QH, k); return 1;
    case SHARD_TYPE_Q6_K: unpack_q6_k(b, k, 32); return 1;
    default: return 0;
    }
}

void shard_dequantize_blocks256(int type, const uint8_t *source, float *destination, int64_t blocks) {
    const int64_t bytes = shard_block_bytes(type);
    if (bytes == 0) return;
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *b = source + n * bytes;
        float *y = destination + n * QKK;
        if (type == SHARD_TYPE_Q8_K) {
            const float d = load_float(b + Q8K_D);
            for (int i = 0; i < QKK; i++) y[i] = d * (float)(int8_t)b[Q8K_QS + i];
            continue;
        }
        kblock k;
        unpack_block256(type, b, &k);
        for (int i = 0; i < QKK; i++) {
            const float scale = k.d * (float)k.scales[i / 16];
            const float offset = k.dmin * (float)k.mins[i / 16];
            const float scaled = scale * (float)k.values[i];
            y[i] = scaled - offset;
        }
    }
}

// MARK: Q8_K activations

void shard_quantize_row_q8_k_portable(const float *source, uint8_t *blocks, int64_t count) {
    for (int64_t n = 0; n < count / QKK; n++) {
        const float *x = source + n * QKK;
        uint8_t *b = blocks + n * BYTES_Q8_K;
        float max = 0.0f, amax = 0.0f;
        for (int i = 0; i < QKK; i++) {
            const float a = fabsf(x[i]);
            if (a > amax) {
                amax = a;
                max = x[i];
            }
        }
        int8_t qs[QKK];
        float d = 0.0f;
        if (amax == 0.0f) {
            memset(qs, 0, sizeof qs);
        } else {
            // Scaled so that the value of largest magnitude becomes -127 (as llama.cpp's quantize_row_q8_K).
            const float iscale = -127.0f / max;
            for (int i = 0; i < QKK; i++) {
                const float r = nearbyintf(iscale * x[i]);
                qs[i] = (int8_t)(r > 127.0f ? 127 : r < -127.0f ? -127 : r == r ? (int)r : 0);
            }
            d = 1.0f / iscale;
        }
        memcpy(b + Q8K_D, &d, 4);
        memcpy(b + Q8K_QS, qs, QKK);
        for (int g = 0; g < QKK / 16; g++) {
            int16_t sum = 0;
            for (int i = 0; i < 16; i++) sum = (int16_t)(sum + qs[16 * g + i]);
            memcpy(b + Q8K_BSUMS + 2 * g, &sum, 2);
        }
    }
}

void shard_quantize_row_q8_k(const float *source, uint8_t *blocks, int64_t count) {
#if defined(__x86_64__)
    if (shard_quantized_uses_simd()) {
        shard_quantize_row_q8_k_avx2(source, blocks, count);
        return;
    }
#endif
    shard_quantize_row_q8_k_portable(source, blocks, count);
}

// MARK: portable dot products

/// The 8 int32 lanes of llama.cpp's AVX2 K-type dot products (ggml_vec_dot_q{3,5,6}_K_q8_K): lane i sums, over the
/// 8 chunks of 32 values, the group scale times the products of values 4i..4i+3 of the chunk. Exact integers.
static void lane_sums(const kblock *k, const int8_t *xq, int32_t sums[8]) {
    for (int i = 0; i < 8; i++) sums[i] = 0;
    for (int c = 0; c < QKK / 32; c++)
        for (int i = 0; i < 8; i++) {
            const int first = 32 * c + 4 * i;
            int32_t part = 0;
            for (int j = first; j < first + 4; j++) part += k->values[j] * xq[j];
            sums[i] += k->scales[first / 16] * part;
        }
}

/// lanes[i] = fma(d, float(sums[i]), lanes[i]): one block's step of the 8 float lanes.
static void lanes_fma(float lanes[8], float d, const int32_t sums[8]) {
    for (int i = 0; i < 8; i++) lanes[i] = fmaf(d, (float)sums[i], lanes[i]);
}

/// Q2_K and Q4_K: llama.cpp's arithmetic for repacked weights (`q2_K_8x8`, `q4_K_8x8`: ggml_gemv/gemm_*_8x8_q8_K,
/// what its x86 CPU backend uses for such matrices whose row count is a multiple of 8; Q2_K with AVX-512): the exact
/// integers per block, two float chains s = fma(float(sumi), d * x.d, s) and m = fma(float(summ), dmin * x.d, m),
/// and the result s - m.
static float dot_two_chains(int type, const uint8_t *w, const uint8_t *x, int64_t blocks) {
    const int64_t w_bytes = shard_block_bytes(type);
    float s = 0.0f, m = 0.0f;
    kblock k;
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *xb = x + n * BYTES_Q8_K;
        unpack_block256(type, w + n * w_bytes, &k);
        const int8_t *xq = (const int8_t *)(xb + Q8K_QS);
        int32_t sumi = 0, summ = 0;
        for (int g = 0; g < 16; g++) {
            int32_t group = 0;
            for (int i = 16 * g; i < 16 * g + 16; i++) group += k.values[i] * xq[i];
            sumi += k.scales[g] * group;
            summ += k.mins[g] * load_i16(xb + Q8K_BSUMS + 2 * g);
        }
        const float xd = load_float(xb + Q8K_D);
        s = fmaf((float)sumi, k.d * xd, s);
        m = fmaf((float)summ, k.dmin * xd, m);
    }
    return s - m;
}

float shard_dot_q2_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_two_chains(SHARD_TYPE_Q2_K, w, x, blocks);
}

float shard_dot_q4_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_two_chains(SHARD_TYPE_Q4_K, w, x, blocks);
}

/// Q3_K: llama.cpp's x86 arithmetic (ggml_vec_dot_q3_K_q8_K, AVX2; Q3_K is not repacked): per block
/// lanes[i] = fma(x.d * d, float(lane i of `lane_sums`), lanes[i]) over the signed values; the result `lanes_sum8`.
float shard_dot_q3_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    float lanes[8] = {0};
    kblock k;
    int32_t sums[8];
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *xb = x + n * BYTES_Q8_K;
        unpack_block256(SHARD_TYPE_Q3_K, w + n * BYTES_Q3_K, &k);
        lane_sums(&k, (const int8_t *)(xb + Q8K_QS), sums);
        lanes_fma(lanes, load_float(xb + Q8K_D) * k.d, sums);
    }
    return lanes_sum8(lanes);
}

/// Q5_K: llama.cpp's x86 arithmetic (ggml_vec_dot_q5_K_q8_K, AVX2): the lanes of `lane_sums`,
/// lanes[i] = fma(x.d * d, float(lane), lanes[i]); the mins in one float chain m = fma(-(x.d * dmin), summ, m); the
/// result `lanes_sum8` + m.
float shard_dot_q5_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    float lanes[8] = {0}, mins = 0.0f;
    kblock k;
    int32_t sums[8];
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *xb = x + n * BYTES_Q8_K;
        unpack_block256(SHARD_TYPE_Q5_K, w + n * BYTES_Q5_K, &k);
        lane_sums(&k, (const int8_t *)(xb + Q8K_QS), sums);
        int32_t summ = 0;
        for (int g = 0; g < 16; g++) summ += k.mins[g] * load_i16(xb + Q8K_BSUMS + 2 * g);
        const float xd = load_float(xb + Q8K_D);
        lanes_fma(lanes, xd * k.d, sums);
        mins = fmaf(-xd * k.dmin, (float)summ, mins);
    }
    return lanes_sum8(lanes) + mins;
}

/// Q6_K: llama.cpp's x86 arithmetic (ggml_vec_dot_q6_K_q8_K, AVX2; Q6_K is not repacked on x86): the lanes of
/// `lane_sums` over the unsigned quants (0..63), minus in lane i the -32 offset of chunk i,
/// 32 * (scale[2i] * bsums[2i] + scale[2i+1] * bsums[2i+1]); then lanes[i] = fma(x.d * d, float(lane), lanes[i]) and
/// the result `lanes_sum8`.
float shard_dot_q6_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    float lanes[8] = {0};
    kblock k;
    int32_t sums[8];
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q6_K, *xb = x + n * BYTES_Q8_K;
        unpack_q6_k(wb, &k, 0);
        lane_sums(&k, (const int8_t *)(xb + Q8K_QS), sums);
        for (int i = 0; i < 8; i++)
            sums[i] -= 32 * (k.scales[2 * i] * load_i16(xb + Q8K_BSUMS + 4 * i) +
                             k.scales[2 * i + 1] * load_i16(xb + Q8K_BSUMS + 4 * i + 2));
        lanes_fma(lanes, load_float(xb + Q8K_D) * k.d, sums);
    }
    return lanes_sum8(lanes);
}
