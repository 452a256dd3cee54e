// The AVX2 primitives of the attention loop (attention_loop.h), with the bits of the scalar ones of attention.c;
// `shard_attention_range` runs this instance on AVX2 + FMA machines whose head dimension is a multiple of 8.
//
// The vectors only run independent reductions side by side, each in the scalar order:
// - a score is ggml_vec_dot_f32's 4 x 16 fma accumulators, which are exactly 8 registers of 8 lanes, followed by
//   the same fixed tree (accumulators 0+2 and 1+3, then 0+1, then `att_reduce16` as halves, quarters and pairs);
// - `axpy` advances the slot accumulators of 8 output columns per fma, and `slots` runs the tree over the 64 slots
//   for 8 columns at a time.
#include "attention_loop.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ATT_FN __attribute__((target("avx2,fma")))
#define ATT_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// `att_reduce16` of the 16 lanes lo (0..7), hi (8..15): halves, quarters, then pairs.
ATT_INLINE float reduce16_avx2(__m256 lo, __m256 hi) {
    const __m256 t8 = _mm256_add_ps(hi, lo);
    const __m128 t4 = _mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8));
    const __m128 ab = _mm_add_ps(_mm_movehl_ps(t4, t4), t4);  // (t4[0] + t4[2], t4[1] + t4[3])
    return _mm_cvtss_f32(_mm_add_ss(ab, _mm_movehdup_ps(ab)));
}

/// `dot_f32_ggml` of attention.c.
ATT_INLINE float dot_f32_avx2(const float *x, const float *y, int64_t n) {
    __m256 acc[8];
    for (int j = 0; j < 8; j++) acc[j] = _mm256_setzero_ps();
    const int64_t np = n & ~(int64_t)63;
    for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 8; j++)
            acc[j] = _mm256_fmadd_ps(_mm256_loadu_ps(x + i + 8 * j), _mm256_loadu_ps(y + i + 8 * j), acc[j]);
    // Accumulator j of the scalar code is acc[2j] (lanes 0..7) and acc[2j + 1] (lanes 8..15).
    for (int h = 0; h < 2; h++) {
        acc[h] = _mm256_add_ps(acc[h], acc[4 + h]);
        acc[2 + h] = _mm256_add_ps(acc[2 + h], acc[6 + h]);
    }
    for (int h = 0; h < 2; h++) acc[h] = _mm256_add_ps(acc[h], acc[2 + h]);
    double sum = reduce16_avx2(acc[0], acc[1]);
    for (int64_t i = np; i < n; i++) sum += (double)(x[i] * y[i]);
    return (float)sum;
}

/// `axpy_scalar` of attention.c; `width` is a multiple of 8.
ATT_INLINE void axpy_avx2(float *acc, const float *v, float weight, int64_t width, int first) {
    const __m256 w = _mm256_set1_ps(weight);
    if (first) {
        for (int64_t c = 0; c < width; c += 8)
            _mm256_storeu_ps(acc + c, _mm256_fmadd_ps(_mm256_loadu_ps(v + c), w, _mm256_setzero_ps()));
    } else {
        for (int64_t c = 0; c < width; c += 8)
            _mm256_storeu_ps(acc + c, _mm256_fmadd_ps(_mm256_loadu_ps(v + c), w, _mm256_loadu_ps(acc + c)));
    }
}

/// `slots_scalar` of attention.c, 8 columns at a time; `width` is a multiple of 8.
ATT_INLINE void slots_avx2(const float *const slot[64], int64_t width, float *out) {
    for (int64_t c = 0; c < width; c += 8) {
        __m256 lane[16];
        for (int l = 0; l < 16; l++) {
            const __m256 a0 = _mm256_add_ps(_mm256_loadu_ps(slot[l] + c), _mm256_loadu_ps(slot[32 + l] + c));
            const __m256 a1 = _mm256_add_ps(_mm256_loadu_ps(slot[16 + l] + c), _mm256_loadu_ps(slot[48 + l] + c));
            lane[l] = _mm256_add_ps(a0, a1);
        }
        // att_reduce16 over the lanes: halves, quarters, then pairs.
        __m256 t8[8], t4[4];
        for (int i = 0; i < 8; i++) t8[i] = _mm256_add_ps(lane[8 + i], lane[i]);
        for (int i = 0; i < 4; i++) t4[i] = _mm256_add_ps(t8[4 + i], t8[i]);
        const __m256 a = _mm256_add_ps(t4[0], t4[2]), b = _mm256_add_ps(t4[1], t4[3]);
        _mm256_storeu_ps(out + c, _mm256_add_ps(a, b));
    }
}

ATT_FN void shard_attention_range_avx2(const float *query, const float *keys, const float *values, int64_t first,
                                       int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                                       float scale, float *scores, float *output) {
    att_loop(query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores, output, dot_f32_avx2,
             axpy_avx2, slots_avx2);
}
#endif
