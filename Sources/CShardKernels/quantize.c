// Q8_0 quantization, matching llama.cpp's block layout and its activation quantization
// (scale = max|x| / 127 stored as half precision, values rounded to nearest even).
#include "shard_kernels.h"
#include "quant_internal.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// One block, scalar: the reference for the vector path below, which gives the same bytes.
static void quantize_block_scalar(const float *x, uint8_t *b) {
    float amax = 0.0f;
    for (int i = 0; i < SHARD_Q8_0_BLOCK; i++) {
        float a = fabsf(x[i]);
        if (a > amax) amax = a;
    }
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    uint16_t scale = shard_f32_to_f16(d);
    memcpy(b, &scale, 2);
    for (int i = 0; i < SHARD_Q8_0_BLOCK; i++) b[2 + i] = (uint8_t)(int8_t)nearbyintf(x[i] * id);
}

#if defined(__x86_64__)
/// One block with AVX2: the same max, the same divisions, the same products rounded to nearest even
/// (|x * id| <= 127, so the saturating packs never saturate).
__attribute__((target("avx2"))) static void quantize_block_avx2(const float *x, uint8_t *b) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 v[4], m = _mm256_setzero_ps();
    for (int j = 0; j < 4; j++) {
        v[j] = _mm256_loadu_ps(x + 8 * j);
        m = _mm256_max_ps(_mm256_andnot_ps(sign, v[j]), m);  // a NaN is skipped, as in the scalar loop
    }
    __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.0f;
    const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
    uint16_t scale = shard_f32_to_f16(d);
    memcpy(b, &scale, 2);
    const __m256 idv = _mm256_set1_ps(id);
    __m256i q[4];
    for (int j = 0; j < 4; j++)
        q[j] = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v[j], idv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    // packs interleave 128-bit lanes; the permute restores element order.
    __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
    bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)(b + 2), bytes);
}

static int quantize_has_avx2(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("avx2");
    return cached;
}
#endif

void shard_quantize_row_q8_0(const float *source, void *blocks, int64_t count) {
    uint8_t *out = (uint8_t *)blocks;
#if defined(__x86_64__)
    if (quantize_has_avx2()) {
        for (int64_t block = 0; block < count / SHARD_Q8_0_BLOCK; block++)
            quantize_block_avx2(source + block * SHARD_Q8_0_BLOCK, out + block * SHARD_Q8_0_BYTES);
        return;
    }
#endif
    shard_quantize_row_q8_0_portable(source, blocks, count);
}

void shard_quantize_row_q8_0_portable(const float *source, void *blocks, int64_t count) {
    uint8_t *out = (uint8_t *)blocks;
    for (int64_t block = 0; block < count / SHARD_Q8_0_BLOCK; block++)
        quantize_block_scalar(source + block * SHARD_Q8_0_BLOCK, out + block * SHARD_Q8_0_BYTES);
}

void shard_dequantize_row_q8_0(const void *blocks, float *destination, int64_t count) {
    const uint8_t *in = (const uint8_t *)blocks;
    for (int64_t block = 0; block < count / SHARD_Q8_0_BLOCK; block++) {
        const uint8_t *b = in + block * SHARD_Q8_0_BYTES;
        uint16_t bits;
        memcpy(&bits, b, 2);
        const float d = shard_f16_to_f32(bits);
        for (int i = 0; i < SHARD_Q8_0_BLOCK; i++) {
            destination[block * SHARD_Q8_0_BLOCK + i] = (float)(int8_t)b[2 + i] * d;
        }
    }
}
