// AVX2 attention with the bits of the portable scalar path in layers.c (llama.cpp's one-token arithmetic), chosen at
// run time: `shard_attention_range` runs it on AVX2 + FMA machines whose head dimension is a multiple of 8.
//
// Every reduction keeps its order; the vectors only run several independent reductions side by side:
// - a score is ggml_vec_dot_f32's 4 x 16 fma accumulators, which are exactly 8 registers of 8 lanes, followed by
//   the same fixed tree (accumulators 0+2 and 1+3, then 0+1, then `reduce16` as halves, quarters and pairs);
// - the output column i is, in the scalar code, one accumulator per cache cell slot (p % 64) of fma over the cells
//   p of that slot, then the same tree over the 64 slots. Here slot s of every column is a row of `acc`, so one fma
//   over 8 columns advances 8 of those chains, and the tree runs over the rows, 8 columns at a time. A slot no cell
//   reaches reads as +0.0, the value the scalar accumulator keeps.
#include "shard_layers.h"
#include "fma_dispatch.h"

#if defined(__x86_64__)
#include <immintrin.h>

#define ATT_FN __attribute__((target("avx2,fma")))
#define ATT_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/// Output columns per pass of the value product: 64 slots x 64 columns of accumulators (16 KB).
#define ATT_COLUMNS 64

/// `reduce16` of the 16 lanes lo (0..7), hi (8..15): halves, quarters, then pairs.
ATT_INLINE float reduce16_avx2(__m256 lo, __m256 hi) {
    const __m256 t8 = _mm256_add_ps(hi, lo);
    const __m128 t4 = _mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8));
    const __m128 ab = _mm_add_ps(_mm_movehl_ps(t4, t4), t4);  // (t4[0] + t4[2], t4[1] + t4[3])
    return _mm_cvtss_f32(_mm_add_ss(ab, _mm_movehdup_ps(ab)));
}

/// `dot_f32_ggml` of layers.c.
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

/// out[c] for c < width (a multiple of 8) of one head: the value columns `values + c` (rows `kv_width` apart) times
/// the weights scores[first ... last].
ATT_INLINE void weighted_values(const float *values, int64_t kv_width, const float *scores, int64_t first,
                                int64_t last, int64_t width, float *out) {
    static const float zeros[ATT_COLUMNS] = {0};
    float acc[64][ATT_COLUMNS];
    const float *slot[64];
    for (int s = 0; s < 64; s++) slot[s] = zeros;
    for (int64_t p = first; p <= last; p++) {
        float *a = acc[p % 64];
        const float *v = values + p * kv_width;
        const __m256 weight = _mm256_set1_ps(scores[p]);
        if (slot[p % 64] == zeros) {
            // The first cell of the slot: fma onto +0.0, as the scalar accumulator starts.
            for (int64_t c = 0; c < width; c += 8)
                _mm256_storeu_ps(a + c, _mm256_fmadd_ps(_mm256_loadu_ps(v + c), weight, _mm256_setzero_ps()));
            slot[p % 64] = a;
        } else {
            for (int64_t c = 0; c < width; c += 8)
                _mm256_storeu_ps(a + c, _mm256_fmadd_ps(_mm256_loadu_ps(v + c), weight, _mm256_loadu_ps(a + c)));
        }
    }
    for (int64_t c = 0; c < width; c += 8) {
        // Slot 16j + l is lane l of accumulator j: (0 + 2), (1 + 3), then (0 + 1), per lane.
        __m256 lane[16];
        for (int l = 0; l < 16; l++) {
            const __m256 a0 = _mm256_add_ps(_mm256_loadu_ps(slot[l] + c), _mm256_loadu_ps(slot[32 + l] + c));
            const __m256 a1 = _mm256_add_ps(_mm256_loadu_ps(slot[16 + l] + c), _mm256_loadu_ps(slot[48 + l] + c));
            lane[l] = _mm256_add_ps(a0, a1);
        }
        // reduce16 over the lanes: halves, quarters, then pairs.
        __m256 t8[8], t4[4];
        for (int i = 0; i < 8; i++) t8[i] = _mm256_add_ps(lane[8 + i], lane[i]);
        for (int i = 0; i < 4; i++) t4[i] = _mm256_add_ps(t8[4 + i], t8[i]);
        const __m256 a = _mm256_add_ps(t4[0], t4[2]), b = _mm256_add_ps(t4[1], t4[3]);
        _mm256_storeu_ps(out + c, _mm256_add_ps(a, b));
    }
}

ATT_FN static void attention_range_avx2(const float *query, const float *keys, const float *values, int64_t first,
                                        int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                                        float scale, float *scores, float *output) {
    const int64_t group = n_heads / n_kv_heads;
    const int64_t kv_width = n_kv_heads * head_dim;
    for (int64_t h = 0; h < n_heads; h++) {
        const float *q = query + h * head_dim;
        const int64_t kv = (h / group) * head_dim;
        float max_score = -INFINITY;
        for (int64_t p = first; p <= last; p++) {
            scores[p] = dot_f32_avx2(keys + p * kv_width + kv, q, head_dim) * scale;
            if (scores[p] > max_score) max_score = scores[p];
        }
        double total = 0.0;
        for (int64_t chunk = first / 16; chunk <= last / 16; chunk++) {
            float lanes[16];
            for (int l = 0; l < 16; l++) {
                const int64_t p = 16 * chunk + l;
                lanes[l] = 0.0f;
                if (p >= first && p <= last) lanes[l] = scores[p] = shard_expf_ggml_inline(scores[p] - max_score);
            }
            total += (double)reduce16_avx2(_mm256_loadu_ps(lanes), _mm256_loadu_ps(lanes + 8));
        }
        const float inverse = (float)(1.0 / total);
        for (int64_t p = first; p <= last; p++) scores[p] = scores[p] * inverse;
        for (int64_t c = 0; c < head_dim; c += ATT_COLUMNS) {
            const int64_t width = head_dim - c < ATT_COLUMNS ? head_dim - c : ATT_COLUMNS;
            weighted_values(values + kv + c, kv_width, scores, first, last, width, output + h * head_dim + c);
        }
    }
}
#endif

void shard_attention_range(const float *query, const float *keys, const float *values, int64_t first,
                           int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                           float *scores, float *output) {
#if defined(__x86_64__)
    static int avx2 = -1;
    if (avx2 < 0) avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && head_dim % 8 == 0) {
        attention_range_avx2(query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores,
                             output);
        return;
    }
#endif
    shard_attention_range_portable(query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores,
                                   output);
}
