// Multi-row AVX2 products of the K block types Q2_K, Q4_K, Q5_K and Q6_K: one weight row against up to 8 activation
// rows, each 256-value weight block unpacked once for all of them. Per row, the integers and the float steps are
// those of the single-row kernels in kquants_avx2.c (see rows_avx2.h): the same bits.
//
// Q3_K stays on the single-row kernel (it only appears in Q3_K files, not in the Q4_K_M mixes).
#include "rows_avx2.h"
#include "bits_avx2.h"

#if defined(__x86_64__)

/// The activation group sums of a Q8_K block as 16 int16.
ROWS_INLINE __m256i bsums16(const uint8_t *xb) { return rows_load32(xb + Q8K_BSUMS); }

/// The scaled int32 lanes of a 256-value block against one activation row: for each 32-value chunk j, the unsigned
/// quants q[j] times the activations, times the int16 group scales scale[j] (exact integers, as the single-row
/// kernels' `chunk_unsigned`).
ROWS_INLINE __m256i scaled_chunks(const __m256i q[8], const __m256i scale[8], const uint8_t *xq) {
    __m256i acc = _mm256_setzero_si256();
    for (int j = 0; j < 8; j++)
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(q[j], rows_load32(xq + 32 * j)), scale[j]));
    return acc;
}

/// Exact int32 lanes whose sum is sum over g of mins[g] * bsums[g] (mins16: 16 int16, one per group).
ROWS_INLINE __m256i mins_dot(__m256i mins16, const uint8_t *xb) { return _mm256_madd_epi16(mins16, bsums16(xb)); }

/// Q4_K (`has_high` 0) and Q5_K (1): the arithmetic of `dot_q45_k` for R rows.
ROWS_INLINE void dot_q45_k_rows(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                                float *out, const int R, const int has_high) {
    const int64_t bytes = has_high ? BYTES_Q5_K : BYTES_Q4_K;
    const int qs_offset = has_high ? Q5K_QS : Q4K_QS;
    const uint8_t *xr[ROWS_MAX];
    rows_pointers(x, x_row, R, count, xr);
    float s[ROWS_MAX] = {0}, m[ROWS_MAX] = {0};
    __m256 lanes[ROWS_MAX];
    for (int r = 0; r < R; r++) lanes[r] = _mm256_setzero_ps();
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * bytes;
        uint8_t sc[8], mn[8];
        kquant_scales_mins(wb + Q4K_SCALES, sc, mn);
        // mins16 lane g = mn[g / 2]: madd with the 16 bsums gives mn[j] * (bsums[2j] + bsums[2j + 1]) per lane.
        const __m128i mins8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)mn));
        const __m256i mins16 = _mm256_set_m128i(_mm_unpackhi_epi16(mins8, mins8), _mm_unpacklo_epi16(mins8, mins8));
        const __m256i high = has_high ? rows_load32(wb + Q5K_QH) : _mm256_setzero_si256();
        __m256i q[8], scale[8];
        for (int c = 0; c < 4; c++) {
            q45_k_chunks(wb + qs_offset, high, has_high, c, &q[2 * c], &q[2 * c + 1]);
            scale[2 * c] = _mm256_set1_epi16((short)sc[2 * c]);
            scale[2 * c + 1] = _mm256_set1_epi16((short)sc[2 * c + 1]);
        }
        __m256i acc[ROWS_MAX], mins[ROWS_MAX];
        for (int r = 0; r < R; r++) {
            const uint8_t *xb = xr[r] + n * BYTES_Q8_K, *xq = xb + Q8K_QS;
            const __m256i a = scaled_chunks(q, scale, xq);
            acc[r] = a;
            mins[r] = mins_dot(mins16, xb);
        }
        int32_t summ[ROWS_MAX];
        rows_hsum_i32(mins, R, summ);
        const float wd = rows_half(wb), wdmin = rows_half(wb + 2);
        if (has_high) {
            // Q5_K: lanes = fma(x.d * d, float(lanes), lanes); m = fma(-x.d * dmin, summ, m).
            for (int r = 0; r < R; r++) {
                const float xd = load_float(xr[r] + n * BYTES_Q8_K + Q8K_D);
                lanes[r] = _mm256_fmadd_ps(_mm256_set1_ps(xd * wd), _mm256_cvtepi32_ps(acc[r]), lanes[r]);
                m[r] = fmaf(-xd * wdmin, (float)summ[r], m[r]);
            }
        } else {
            // Q4_K: s = fma(float(sumi), d * x.d, s); m = fma(float(summ), dmin * x.d, m).
            int32_t sumi[ROWS_MAX];
            rows_hsum_i32(acc, R, sumi);
            for (int r = 0; r < R; r++) {
                const float xd = load_float(xr[r] + n * BYTES_Q8_K + Q8K_D);
                s[r] = fmaf((float)sumi[r], wd * xd, s[r]);
                m[r] = fmaf((float)summ[r], wdmin * xd, m[r]);
            }
        }
    }
    for (int r = 0; r < count; r++) out[r] = has_high ? rows_hsum8(lanes[r]) + m[r] : s[r] - m[r];
}

ROWS_FN void shard_dot_rows_q4_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count,
                                      int64_t blocks, float *out) {
    if (count > 4) dot_q45_k_rows(w, x, x_row, count, blocks, out, 8, 0);
    else dot_q45_k_rows(w, x, x_row, count, blocks, out, 4, 0);
}

ROWS_FN void shard_dot_rows_q5_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count,
                                      int64_t blocks, float *out) {
    if (count > 4) dot_q45_k_rows(w, x, x_row, count, blocks, out, 8, 1);
    else dot_q45_k_rows(w, x, x_row, count, blocks, out, 4, 1);
}

/// Q2_K: the arithmetic of `shard_dot_q2_k_avx2` for R rows.
ROWS_INLINE void dot_q2_k_rows(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                               float *out, const int R) {
    const __m256i three = _mm256_set1_epi8(3), nibble = _mm256_set1_epi16(0x0F);
    const uint8_t *xr[ROWS_MAX];
    rows_pointers(x, x_row, R, count, xr);
    float s[ROWS_MAX] = {0}, m[ROWS_MAX] = {0};
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q2_K;
        const uint8_t *sc = wb + Q2K_SCALES;
        // The 16 scale bytes widened to int16: low nibbles are the group scales, high nibbles the mins.
        const __m256i sc16 = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)sc));
        const __m256i mins16 = _mm256_srli_epi16(sc16, 4);
        __m256i q[8], scale[8];
        for (int h = 0; h < 2; h++) {
            const __m256i bits = rows_load32(wb + Q2K_QS + 32 * h);
            for (int t = 0; t < 4; t++) {
                const int g = 8 * h + 2 * t;
                q[4 * h + t] = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * t), three);
                scale[4 * h + t] = _mm256_and_si256(
                    _mm256_set_m128i(_mm_set1_epi16((short)sc[g + 1]), _mm_set1_epi16((short)sc[g])), nibble);
            }
        }
        __m256i acc[ROWS_MAX], mins[ROWS_MAX];
        for (int r = 0; r < R; r++) {
            const uint8_t *xb = xr[r] + n * BYTES_Q8_K, *xq = xb + Q8K_QS;
            const __m256i a = scaled_chunks(q, scale, xq);
            acc[r] = a;
            mins[r] = mins_dot(mins16, xb);
        }
        int32_t sumi[ROWS_MAX], summ[ROWS_MAX];
        rows_hsum_i32(acc, R, sumi);
        rows_hsum_i32(mins, R, summ);
        const float wd = rows_half(wb + Q2K_D), wdmin = rows_half(wb + Q2K_DMIN);
        for (int r = 0; r < R; r++) {
            const float xd = load_float(xr[r] + n * BYTES_Q8_K + Q8K_D);
            s[r] = fmaf((float)sumi[r], wd * xd, s[r]);
            m[r] = fmaf((float)summ[r], wdmin * xd, m[r]);
        }
    }
    for (int r = 0; r < count; r++) out[r] = s[r] - m[r];
}

ROWS_FN void shard_dot_rows_q2_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count,
                                      int64_t blocks, float *out) {
    if (count > 4) dot_q2_k_rows(w, x, x_row, count, blocks, out, 8);
    else dot_q2_k_rows(w, x, x_row, count, blocks, out, 4);
}
/// Q6_K: the arithmetic of `shard_dot_q6_k_avx2` for R rows (unsigned 6-bit quants; lane i less the -32 offset of
/// chunk i, 32 * (scale[2i] * bsums[2i] + scale[2i+1] * bsums[2i+1]); 8 float lanes per row).
ROWS_INLINE void dot_q6_k_rows(const uint8_t *w, const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                               float *out, const int R) {
    const uint8_t *xr[ROWS_MAX];
    rows_pointers(x, x_row, R, count, xr);
    __m256 lanes[ROWS_MAX];
    for (int r = 0; r < R; r++) lanes[r] = _mm256_setzero_ps();
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q6_K;
        const int8_t *sc = (const int8_t *)(wb + Q6K_SCALES);
        const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        __m256i q[8], scale[8];
        q6_k_chunks(wb, q);
        for (int j = 0; j < 8; j++)
            scale[j] = _mm256_set_m128i(_mm_set1_epi16((short)sc[2 * j + 1]), _mm_set1_epi16((short)sc[2 * j]));
        const float wd = rows_half(wb + Q6K_D);
        for (int r = 0; r < R; r++) {
            const uint8_t *xb = xr[r] + n * BYTES_Q8_K, *xq = xb + Q8K_QS;
            const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(rows_load32(xb + Q8K_BSUMS), scales16), 5);
            const __m256i a = scaled_chunks(q, scale, xq);
            const float xd = load_float(xb + Q8K_D);
            lanes[r] = _mm256_fmadd_ps(_mm256_set1_ps(xd * wd), _mm256_cvtepi32_ps(_mm256_sub_epi32(a, offset)),
                                       lanes[r]);
        }
    }
    for (int r = 0; r < count; r++) out[r] = rows_hsum8(lanes[r]);
}

ROWS_FN void shard_dot_rows_q6_k_avx2(const uint8_t *w, const uint8_t *x, int64_t x_row, int count,
                                      int64_t blocks, float *out) {
    if (count > 4) dot_q6_k_rows(w, x, x_row, count, blocks, out, 8);
    else dot_q6_k_rows(w, x, x_row, count, blocks, out, 4);
}
#endif
