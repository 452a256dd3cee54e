// Internal declarations shared by the quantized-weight kernels (not part of the public header).
//
// Block layouts (llama.cpp's ggml-common.h; `half` is IEEE binary16, all little-endian, no padding):
//   Q4_0  (18 B / 32):  half d; u8 qs[16]                       x = d * (q - 8)
//   Q4_1  (20 B / 32):  half d, m; u8 qs[16]                    x = d * q + m
//   Q5_0  (22 B / 32):  half d; u8 qh[4]; u8 qs[16]             x = d * (q - 16)   (bit i of qh: 5th bit of value i)
//   Q5_1  (24 B / 32):  half d, m; u8 qh[4]; u8 qs[16]          x = d * q + m
//   Q8_0  (34 B / 32):  half d; i8 qs[32]
//   Q8_1  (36 B / 32):  half d, s; i8 qs[32]                    s = d * sum(qs)
//   Q2_K  (84 B / 256): u8 scales[16]; u8 qs[64]; half d, dmin
//   Q3_K (110 B / 256): u8 hmask[32]; u8 qs[64]; u8 scales[12]; half d
//   Q4_K (144 B / 256): half d, dmin; u8 scales[12]; u8 qs[128]
//   Q5_K (176 B / 256): half d, dmin; u8 scales[12]; u8 qh[32]; u8 qs[128]
//   Q6_K (210 B / 256): u8 ql[128]; u8 qh[64]; i8 scales[16]; half d
//   Q8_K (292 B / 256): float d; i8 qs[256]; i16 bsums[16]
// In the 32-value types the low nibbles of qs are values 0..15 and the high nibbles values 16..31.
#ifndef SHARD_QUANT_INTERNAL_H
#define SHARD_QUANT_INTERNAL_H

#include "shard_kernels.h"

#include <string.h>

#define QK 32
#define QKK 256

enum {
    BYTES_Q4_0 = 18, BYTES_Q4_1 = 20, BYTES_Q5_0 = 22, BYTES_Q5_1 = 24, BYTES_Q8_0 = 34, BYTES_Q8_1 = 36,
    BYTES_Q2_K = 84, BYTES_Q3_K = 110, BYTES_Q4_K = 144, BYTES_Q5_K = 176, BYTES_Q6_K = 210, BYTES_Q8_K = 292
};

/// Byte offsets inside the 256-value blocks.
enum {
    Q2K_SCALES = 0, Q2K_QS = 16, Q2K_D = 80, Q2K_DMIN = 82,
    Q3K_HMASK = 0, Q3K_QS = 32, Q3K_SCALES = 96, Q3K_D = 108,
    Q4K_D = 0, Q4K_DMIN = 2, Q4K_SCALES = 4, Q4K_QS = 16,
    Q5K_D = 0, Q5K_DMIN = 2, Q5K_SCALES = 4, Q5K_QH = 16, Q5K_QS = 48,
    Q6K_QL = 0, Q6K_QH = 128, Q6K_SCALES = 192, Q6K_D = 208,
    Q8K_D = 0, Q8K_QS = 4, Q8K_BSUMS = 260
};

/// The half-precision value at `p` (any alignment) as a float; exact.
static inline float load_half(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return shard_f16_to_f32(bits);
}

static inline float load_float(const uint8_t *p) {
    float value;
    memcpy(&value, p, 4);
    return value;
}

static inline int16_t load_i16(const uint8_t *p) {
    int16_t value;
    memcpy(&value, p, 2);
    return value;
}

/// The sum of 8 lanes in the fixed order of the AVX2 horizontal sum: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)).
static inline float lanes_sum8(const float l[8]) {
    const float a0 = l[0] + l[4], a1 = l[1] + l[5], a2 = l[2] + l[6], a3 = l[3] + l[7];
    return (a0 + a2) + (a1 + a3);
}

/// Bytes per block of `type` (a GGML type number), 0 for a type these kernels do not read (quantized.c).
int64_t shard_block_bytes(int type);

/// Scales and mins of the 8 sub-blocks of a Q4_K/Q5_K block, unpacked from their 12 bytes (6 bits each).
static inline void kquant_scales_mins(const uint8_t *packed, uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 4; j++) {
        scales[j] = packed[j] & 63;
        mins[j] = packed[j + 4] & 63;
        scales[j + 4] = (uint8_t)((packed[j + 8] & 0x0F) | ((packed[j] >> 6) << 4));
        mins[j + 4] = (uint8_t)((packed[j + 8] >> 4) | ((packed[j + 4] >> 6) << 4));
    }
}

/// The 16 signed scales of a Q3_K block (6 bits each, offset by 32), unpacked from their 12 bytes.
static inline void q3k_scales(const uint8_t *packed, int8_t scales[16]) {
    for (int i = 0; i < 16; i++) {
        const int low = i < 8 ? packed[i] & 0x0F : packed[i - 8] >> 4;
        const int high = (packed[8 + i % 4] >> (2 * (i / 4))) & 3;
        scales[i] = (int8_t)((low | (high << 4)) - 32);
    }
}

/// One output element: the dot product of a weight row of `blocks` blocks with an activation row.
typedef float (*quant_dot_fn)(const uint8_t *weights, const uint8_t *activations, int64_t blocks);

/// `count` (1 ... 8) output elements: one weight row with the activation rows at `activations + r * row_bytes`.
typedef void (*quant_dot_rows_fn)(const uint8_t *weights, const uint8_t *activations, int64_t row_bytes, int count,
                                  int64_t blocks, float *out);

// Portable paths (quants.c, kquants.c); each gives the same bits as its AVX2 counterpart.
float shard_dot_q4_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q4_1_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q5_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q5_1_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q8_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q2_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q3_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q4_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q5_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q6_k_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks);

#if defined(__x86_64__)
// AVX2 + FMA + F16C paths (quants_avx2.c, kquants_avx2.c).
float shard_dot_q4_0_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q4_1_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q5_0_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q5_1_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q8_0_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q2_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q3_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q4_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q5_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);
float shard_dot_q6_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks);

// Multi-row AVX2 paths (quants_rows_avx2.c, kquants_rows_avx2.c): out[r] = the single-row AVX2 dot of the weight
// row with activation row x + r * x_row, for r < count (1 ... 8), bit for bit; the weight blocks are unpacked once.
void shard_dot_rows_q4_0_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);
void shard_dot_rows_q4_1_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);
void shard_dot_rows_q5_0_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);
void shard_dot_rows_q5_1_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);
void shard_dot_rows_q2_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);
void shard_dot_rows_q4_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);
void shard_dot_rows_q5_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);
void shard_dot_rows_q6_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                              float *out);

/// The multi-row products of Q4_0, Q4_1, Q5_0 and Q5_1 on AVX-512 VNNI machines (quants_rows_vnni.c): outputs
/// [row_begin, row_end) of the first batch rows in groups of 16, then of 8 (the last of 3 ... 7), each with the bits
/// of the single-row AVX2 kernel; returns the number of batch rows done (the rest, 0 to 2 rows, is the caller's).
/// Returns 0 for any other type.
int64_t shard_matmul_rows32_vnni(int type, const uint8_t *w, int64_t w_row, const uint8_t *x, int64_t x_row,
                                 int64_t batch, int64_t blocks, float *y, int64_t ldy, int64_t row_begin,
                                 int64_t row_end);
#endif

// Dequantization and activation quantization of each block family.
void shard_dequantize_blocks32(int ggml_type, const uint8_t *source, float *destination, int64_t blocks);
void shard_dequantize_blocks256(int ggml_type, const uint8_t *source, float *destination, int64_t blocks);
void shard_quantize_row_q8_1(const float *source, uint8_t *blocks, int64_t count);
/// `shard_quantize_row_q8_1` and `shard_quantize_row_q8_0` on the scalar path (quants.c, quantize.c).
void shard_quantize_row_q8_1_portable(const float *source, uint8_t *blocks, int64_t count);
void shard_quantize_row_q8_0_portable(const float *source, void *blocks, int64_t count);
void shard_quantize_row_q8_k(const float *source, uint8_t *blocks, int64_t count);
/// `shard_quantize_row_q8_k` on the scalar path (kquants.c), the reference of the AVX2 one.
void shard_quantize_row_q8_k_portable(const float *source, uint8_t *blocks, int64_t count);
#if defined(__x86_64__)
/// `shard_quantize_row_q8_k` with AVX2 (kquants_avx2.c): the same bytes.
void shard_quantize_row_q8_k_avx2(const float *source, uint8_t *blocks, int64_t count);
#endif

#endif
