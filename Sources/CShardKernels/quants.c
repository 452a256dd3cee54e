// The 32-value block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0): dequantization, Q8_1 activation quantization, and the
// portable dot products.
//
// The portable dot products reproduce the AVX2 ones (quants_avx2.c) bit for bit: 8 float lanes, lane i of a
// block takes the exact integer sum of values 4i..4i+3 (what maddubs + madd leave in int32 lane i), scaled by
// the rounded product of the two block scales with one fma; the lanes are then summed by the fixed tree of
// `lanes_sum8`. Products use explicit `fmaf` so that no compiler contraction can make the paths differ.
#include "quant_internal.h"

#include <math.h>

// MARK: unpacking

/// The 32 unsigned 4-bit values of a block (low nibbles are values 0..15, high nibbles 16..31).
static void unpack_nibbles(const uint8_t *qs, int values[QK]) {
    for (int j = 0; j < QK / 2; j++) {
        values[j] = qs[j] & 0x0F;
        values[j + QK / 2] = qs[j] >> 4;
    }
}

/// Adds the fifth bit of each value: bit i of the little-endian 32-bit `qh` belongs to value i.
static void add_fifth_bits(const uint8_t *qh, int values[QK]) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    for (int i = 0; i < QK; i++) values[i] |= (int)((bits >> i) & 1) << 4;
}

/// The weight values of block `b` of `type` as integers, and its scale `d` and offset `m` (0 when none):
/// the block represents d * values[i] + m.
static void unpack_block32(int type, const uint8_t *b, int values[QK], float *d, float *m) {
    *d = load_half(b);
    *m = 0.0f;
    switch (type) {
    case SHARD_TYPE_Q4_0:
        unpack_nibbles(b + 2, values);
        for (int i = 0; i < QK; i++) values[i] -= 8;
        break;
    case SHARD_TYPE_Q4_1:
        *m = load_half(b + 2);
        unpack_nibbles(b + 4, values);
        break;
    case SHARD_TYPE_Q5_0:
        unpack_nibbles(b + 6, values);
        add_fifth_bits(b + 2, values);
        for (int i = 0; i < QK; i++) values[i] -= 16;
        break;
    case SHARD_TYPE_Q5_1:
        *m = load_half(b + 2);
        unpack_nibbles(b + 8, values);
        add_fifth_bits(b + 4, values);
        break;
    case SHARD_TYPE_Q8_0:
        for (int i = 0; i < QK; i++) values[i] = (int8_t)b[2 + i];
        break;
    case SHARD_TYPE_Q8_1:
        *m = 0.0f;  // s is a sum used by dot products, not an offset
        for (int i = 0; i < QK; i++) values[i] = (int8_t)b[4 + i];
        break;
    }
}

void shard_dequantize_blocks32(int type, const uint8_t *source, float *destination, int64_t blocks) {
    const int64_t bytes = shard_block_bytes(type);
    if (bytes == 0) return;
    int values[QK];
    for (int64_t k = 0; k < blocks; k++) {
        float d, m;
        unpack_block32(type, source + k * bytes, values, &d, &m);
        float *y = destination + k * QK;
        for (int i = 0; i < QK; i++) {
            const float scaled = (float)values[i] * d;
            y[i] = scaled + m;
        }
    }
}

// MARK: Q8_1 activations

/// Q8_1 from the Q8_0 quantizer `q8_0` (the vector or the portable one: both give the same bytes).
static void quantize_row_q8_1_with(void (*q8_0_row)(const float *, void *, int64_t), const float *source,
                                   uint8_t *blocks, int64_t count) {
    uint8_t q8_0[BYTES_Q8_0];
    for (int64_t k = 0; k < count / QK; k++) {
        // The same quants and scale as Q8_0, plus s = d * sum(quants).
        q8_0_row(source + k * QK, q8_0, QK);
        uint8_t *b = blocks + k * BYTES_Q8_1;
        int sum = 0;
        for (int i = 0; i < QK; i++) sum += (int8_t)q8_0[2 + i];
        // s from the unrounded scale max|x| / 127, as llama.cpp's quantize_row_q8_1 (not from the half-precision d).
        float amax = 0.0f;
        for (int i = 0; i < QK; i++) {
            const float a = fabsf(source[k * QK + i]);
            if (a > amax) amax = a;
        }
        const uint16_t s = shard_f32_to_f16(amax / 127.0f * (float)sum);
        memcpy(b, q8_0, 2);
        memcpy(b + 2, &s, 2);
        memcpy(b + 4, q8_0 + 2, QK);
    }
}

void shard_quantize_row_q8_1(const float *source, uint8_t *blocks, int64_t count) {
    quantize_row_q8_1_with(shard_quantize_row_q8_0, source, blocks, count);
}

void shard_quantize_row_q8_1_portable(const float *source, uint8_t *blocks, int64_t count) {
    quantize_row_q8_1_with(shard_quantize_row_q8_0_portable, source, blocks, count);
}

// MARK: portable dot products

/// lanes[i] = fma(d, float(sum of w[4i+j] * x[4i+j] for j < 4), lanes[i]).
static void accumulate_lanes(float lanes[8], float d, const int w[QK], const int8_t *x) {
    for (int i = 0; i < 8; i++) {
        int32_t sum = 0;
        for (int j = 0; j < 4; j++) sum += w[4 * i + j] * x[4 * i + j];
        lanes[i] = fmaf(d, (float)sum, lanes[i]);
    }
}

/// Weights of `type` against Q8_0 (`x_bytes` 34) or Q8_1 (36) activations; `with_offset`: add the m * s terms.
static float dot_block32(int type, const uint8_t *w, const uint8_t *x, int64_t blocks, int64_t x_bytes) {
    const int64_t w_bytes = shard_block_bytes(type);
    const int x_quants = x_bytes == BYTES_Q8_1 ? 4 : 2;
    float lanes[8] = {0};
    float offsets = 0.0f;
    int values[QK];
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * w_bytes, *xb = x + k * x_bytes;
        float wd, wm;
        unpack_block32(type, wb, values, &wd, &wm);
        const float d = wd * load_half(xb);
        accumulate_lanes(lanes, d, values, (const int8_t *)(xb + x_quants));
        if (x_bytes == BYTES_Q8_1) offsets = fmaf(wm, load_half(xb + 2), offsets);
    }
    const float sum = lanes_sum8(lanes);
    return x_bytes == BYTES_Q8_1 ? sum + offsets : sum;
}

/// Q4_0: llama.cpp's arithmetic for repacked Q4_0 weights (`q4_0_8x8`, ggml_gemv/gemm_q4_0_8x8_q8_0, what its x86
/// CPU backend uses for Q4_0 matrices whose row count is a multiple of 8): per block the exact integer sum of all
/// 32 products, then one float chain s = fma(float(sum), w.d * x.d, s), with no lanes and no horizontal sum.
/// (The 8-lane order of `dot_block32` is that of ggml_vec_dot_q4_0_q8_0, which llama.cpp no longer uses there;
/// the two differ by rounding only, but a rounding difference upstream of a Q8_0 activation quantization can flip
/// a value that lies on a rounding midpoint, and those flips grow along the layers.)
float shard_dot_q4_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    float s = 0.0f;
    int values[QK];
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * BYTES_Q4_0, *xb = x + k * BYTES_Q8_0;
        float wd, wm;
        unpack_block32(SHARD_TYPE_Q4_0, wb, values, &wd, &wm);
        const int8_t *xq = (const int8_t *)(xb + 2);
        int32_t sum = 0;
        for (int i = 0; i < QK; i++) sum += values[i] * xq[i];
        s = fmaf((float)sum, wd * load_half(xb), s);
    }
    return s;
}
float shard_dot_q4_1_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_block32(SHARD_TYPE_Q4_1, w, x, blocks, BYTES_Q8_1);
}
float shard_dot_q5_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_block32(SHARD_TYPE_Q5_0, w, x, blocks, BYTES_Q8_0);
}
float shard_dot_q5_1_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_block32(SHARD_TYPE_Q5_1, w, x, blocks, BYTES_Q8_1);
}
float shard_dot_q8_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_block32(SHARD_TYPE_Q8_0, w, x, blocks, BYTES_Q8_0);
}
