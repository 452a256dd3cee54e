// Multi-row AVX2 products of the 32-value block types Q4_0, Q4_1, Q5_0 and Q5_1: one weight row against up to 8
// activation rows, each weight block unpacked once for all of them. Per row, the integers and the float steps are
// those of the single-row kernels in quants_avx2.c (see rows_avx2.h): the same bits. (Q8_0 has its own tiled
// kernel in matmul.c.)
#include "rows_avx2.h"
#include "bits_avx2.h"

#if defined(__x86_64__)

/// The weights of one 32-value block, ready for maddubs: unsigned bytes `u` (|w| for the signed types) and, for
/// the signed types, `sign` (w itself, whose sign is moved onto the activations).
typedef struct {
    __m256i u, sign;
} weight_block;

/// Exact int32 lane sums of 4 products of one block with activation bytes `x`.
ROWS_INLINE __m256i block_dot(weight_block wq, __m256i x, const int is_signed) {
    const __m256i xs = is_signed ? _mm256_sign_epi8(x, wq.sign) : x;
    return _mm256_madd_epi16(_mm256_maddubs_epi16(wq.u, xs), _mm256_set1_epi16(1));
}

/// Block k of a weight row of `type` unpacked.
ROWS_INLINE weight_block unpack(const uint8_t *wb, const int type) {
    weight_block b;
    switch (type) {
    case SHARD_TYPE_Q4_0:
        b.sign = _mm256_sub_epi8(nibbles_32(wb + 2), _mm256_set1_epi8(8));
        b.u = _mm256_sign_epi8(b.sign, b.sign);
        break;
    case SHARD_TYPE_Q5_0: {
        const __m256i minus = _mm256_andnot_si256(bit_mask_32(wb + 2), _mm256_set1_epi8(16));
        b.sign = _mm256_sub_epi8(nibbles_32(wb + 6), minus);
        b.u = _mm256_sign_epi8(b.sign, b.sign);
        break;
    }
    case SHARD_TYPE_Q4_1:
        b.u = nibbles_32(wb + 4);
        b.sign = b.u;
        break;
    default:  // Q5_1
        b.u = _mm256_or_si256(nibbles_32(wb + 8), _mm256_and_si256(bit_mask_32(wb + 4), _mm256_set1_epi8(16)));
        b.sign = b.u;
        break;
    }
    return b;
}

/// R rows of weight type `type`, activations Q8_0 (Q4_0, Q5_0) or Q8_1 (Q4_1, Q5_1).
ROWS_INLINE void dot_rows32(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                            float *out, const int R, const int type) {
    const int is_signed = type == SHARD_TYPE_Q4_0 || type == SHARD_TYPE_Q5_0;
    const int has_min = type == SHARD_TYPE_Q4_1 || type == SHARD_TYPE_Q5_1;
    const int64_t w_bytes = type == SHARD_TYPE_Q4_0 ? BYTES_Q4_0 : type == SHARD_TYPE_Q5_0 ? BYTES_Q5_0
                          : type == SHARD_TYPE_Q4_1 ? BYTES_Q4_1 : BYTES_Q5_1;
    const int64_t x_bytes = has_min ? BYTES_Q8_1 : BYTES_Q8_0;
    const int x_qs = has_min ? 4 : 2;
    const uint8_t *xr[ROWS_MAX];
    rows_pointers(x, x_row, R, count, xr);
    float s[ROWS_MAX] = {0}, offsets[ROWS_MAX] = {0};
    __m256 lanes[ROWS_MAX];
    for (int r = 0; r < R; r++) lanes[r] = _mm256_setzero_ps();
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * w_bytes;
        const weight_block wq = unpack(wb, type);
        __m256i dots[ROWS_MAX];
        for (int r = 0; r < R; r++) dots[r] = block_dot(wq, rows_load32(xr[r] + k * x_bytes + x_qs), is_signed);
        if (type == SHARD_TYPE_Q4_0) {
            // One chain per row: s = fma(float(sum of the 32 products), w.d * x.d, s).
            int32_t sums[ROWS_MAX];
            rows_hsum_i32(dots, R, sums);
            const float wd = rows_half(wb);
            for (int r = 0; r < R; r++) s[r] = fmaf((float)sums[r], wd * rows_half(xr[r] + k * x_bytes), s[r]);
        } else {
            // 8 lanes per row: lanes = fma(w.d * x.d, float(lane sums), lanes); Q4_1/Q5_1 also the offsets chain.
            const __m256 wd = rows_half_x8(wb);
            for (int r = 0; r < R; r++) {
                const uint8_t *xb = xr[r] + k * x_bytes;
                lanes[r] = _mm256_fmadd_ps(_mm256_mul_ps(wd, rows_half_x8(xb)), _mm256_cvtepi32_ps(dots[r]),
                                           lanes[r]);
                if (has_min) offsets[r] = fmaf(rows_half(wb + 2), rows_half(xb + 2), offsets[r]);
            }
        }
    }
    for (int r = 0; r < count; r++)
        out[r] = type == SHARD_TYPE_Q4_0 ? s[r] : has_min ? rows_hsum8(lanes[r]) + offsets[r] : rows_hsum8(lanes[r]);
}

#define DEFINE_DOT_ROWS(NAME, TYPE)                                                                          \
    ROWS_FN void NAME(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks, float *out) { \
        if (count > 4) dot_rows32(w, x, x_row, count, blocks, out, 8, TYPE);                                 \
        else dot_rows32(w, x, x_row, count, blocks, out, 4, TYPE);                                           \
    }

DEFINE_DOT_ROWS(shard_dot_rows_q4_0_avx2, SHARD_TYPE_Q4_0)
DEFINE_DOT_ROWS(shard_dot_rows_q4_1_avx2, SHARD_TYPE_Q4_1)
DEFINE_DOT_ROWS(shard_dot_rows_q5_0_avx2, SHARD_TYPE_Q5_0)
DEFINE_DOT_ROWS(shard_dot_rows_q5_1_avx2, SHARD_TYPE_Q5_1)
#endif
