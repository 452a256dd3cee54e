// Helpers of the multi-row AVX2 kernels (quants_rows_avx2.c, kquants_rows_avx2.c): one weight row against a
// group of R activation rows (R = 4 or 8), the weight blocks unpacked once per group instead of once per row.
//
// Batch invariance: the integer part of every block is exact (any summation order gives the same int32), and the
// float steps of each row are those of the type's single-row kernel, in the same order, on that row's values
// alone. So every output element has the bits of the single-row kernel whatever the group it was computed in.
#ifndef SHARD_ROWS_AVX2_H
#define SHARD_ROWS_AVX2_H

#include "quant_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define ROWS_FN __attribute__((target("avx2,fma,f16c")))
#define ROWS_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/// The largest group of activation rows one call computes.
#define ROWS_MAX 8

ROWS_INLINE __m256i rows_load32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

ROWS_INLINE float rows_half(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _cvtsh_ss(bits);
}

/// A half-precision value at `p` broadcast to 8 float lanes (exact).
ROWS_INLINE __m256 rows_half_x8(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16((short)bits));
}

/// The exact int32 sums of R (4 or 8) vectors of 8 int32 lanes: out[r] = sum of the lanes of v[r].
ROWS_INLINE void rows_hsum_i32(const __m256i *v, int R, int32_t *out) {
    if (R == 8) {
        const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
        const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));
        // a = [v0..v3 partial sums of the low 128 bits | the same of the high 128 bits], b likewise for v4..v7.
        const __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                                              _mm256_permute2x128_si256(a, b, 0x31));
        _mm256_storeu_si256((__m256i *)out, sums);
    } else {
        const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
        const __m128i sums = _mm_add_epi32(_mm256_castsi256_si128(a), _mm256_extracti128_si256(a, 1));
        _mm_storeu_si128((__m128i *)out, sums);
    }
}

/// The fixed horizontal float sum of the single-row kernels (`lanes_sum8`).
ROWS_INLINE float rows_hsum8(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/// Pointers to the R activation rows of a group of `count` rows (`row_bytes` apart); the lanes past `count` repeat
/// row 0, and their results are dropped.
ROWS_INLINE void rows_pointers(const uint8_t *x, int64_t row_bytes, int R, int count, const uint8_t **rows) {
    for (int r = 0; r < R; r++) rows[r] = x + (r < count ? r : 0) * row_bytes;
}
#endif

#endif
