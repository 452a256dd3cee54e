// Batch-invariant matrix products: every output element is one dot product computed in a fixed order,
// independent of how many input rows are in the batch. Weight rows are read once and reused for all rows.
#include "shard_kernels.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SHARD_X86 1
#endif

// MARK: scalar reference paths (fixed order: 8 interleaved partial sums, combined pairwise)

static float dot_f32_scalar(const float *a, const float *b, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

static float dot_q8_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    float sum = 0.0f;
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * SHARD_Q8_0_BYTES, *xb = x + k * SHARD_Q8_0_BYTES;
        uint16_t wd, xd;
        memcpy(&wd, wb, 2);
        memcpy(&xd, xb, 2);
        int32_t isum = 0;
        for (int i = 0; i < SHARD_Q8_0_BLOCK; i++) isum += (int32_t)(int8_t)wb[2 + i] * (int32_t)(int8_t)xb[2 + i];
        sum += (float)isum * (shard_f16_to_f32(wd) * shard_f16_to_f32(xd));
    }
    return sum;
}

#ifdef SHARD_X86
// MARK: AVX2 + FMA paths

__attribute__((target("avx2,fma"))) static inline float hsum8(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

__attribute__((target("avx2,fma"))) static float dot_f32_avx2(const float *a, const float *b, int64_t n) {
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps(), acc2 = _mm256_setzero_ps(),
           acc3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
        acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
        acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
    }
    for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    float sum = hsum8(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

__attribute__((target("avx2,fma"))) static float dot_q8_0_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    __m256 acc = _mm256_setzero_ps();
    const __m256i ones = _mm256_set1_epi16(1);
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * SHARD_Q8_0_BYTES, *xb = x + k * SHARD_Q8_0_BYTES;
        uint16_t wd, xd;
        memcpy(&wd, wb, 2);
        memcpy(&xd, xb, 2);
        const __m256 d = _mm256_set1_ps(shard_f16_to_f32(wd) * shard_f16_to_f32(xd));
        __m256i wq = _mm256_loadu_si256((const __m256i *)(wb + 2));
        __m256i xq = _mm256_loadu_si256((const __m256i *)(xb + 2));
        // |w| * sign(x, w): unsigned-by-signed multiply-add of byte pairs, as llama.cpp does.
        __m256i ax = _mm256_sign_epi8(wq, wq);
        __m256i sy = _mm256_sign_epi8(xq, wq);
        __m256i pairs = _mm256_maddubs_epi16(ax, sy);
        __m256i quads = _mm256_madd_epi16(pairs, ones);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(quads), acc);
    }
    return hsum8(acc);
}

static int has_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    return cached;
}
#else
static int has_avx2(void) { return 0; }
#endif

void shard_matmul_f32(const float *weights, int64_t n_in, const float *input, int64_t batch, float *output,
                      int64_t ldy, int64_t row_begin, int64_t row_end) {
    const int fast = has_avx2();
    for (int64_t o = row_begin; o < row_end; o++) {
        const float *w = weights + o * n_in;
        for (int64_t b = 0; b < batch; b++) {
#ifdef SHARD_X86
            if (fast) { output[b * ldy + o] = dot_f32_avx2(w, input + b * n_in, n_in); continue; }
#endif
            output[b * ldy + o] = dot_f32_scalar(w, input + b * n_in, n_in);
        }
    }
}

void shard_matmul_q8_0(const void *weights, int64_t n_in, const void *input_blocks, int64_t batch, float *output,
                       int64_t ldy, int64_t row_begin, int64_t row_end) {
    const int fast = has_avx2();
    const int64_t blocks = n_in / SHARD_Q8_0_BLOCK;
    const int64_t row_bytes = blocks * SHARD_Q8_0_BYTES;
    const uint8_t *w_all = (const uint8_t *)weights, *x_all = (const uint8_t *)input_blocks;
    for (int64_t o = row_begin; o < row_end; o++) {
        const uint8_t *w = w_all + o * row_bytes;
        for (int64_t b = 0; b < batch; b++) {
#ifdef SHARD_X86
            if (fast) { output[b * ldy + o] = dot_q8_0_avx2(w, x_all + b * row_bytes, blocks); continue; }
#endif
            output[b * ldy + o] = dot_q8_0_scalar(w, x_all + b * row_bytes, blocks);
        }
    }
}
