// Operations of the Qwen2 and Gemma 3 blocks and Llama 3 RoPE (attention: attention.c); see shard_layers.h.
#include "shard_layers.h"
#include "shard_kernels.h"
#include "fma_dispatch.h"

#include <math.h>
#include <pthread.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// The rotation of `n_heads` heads at x and `n_heads2` heads at x2 (the keys of the same position, or none).
SHARD_INLINE void shard_rope_qk_body(float *x, int64_t n_heads, float *x2, int64_t n_heads2, int64_t head_dim,
                                     int64_t n_rot, int64_t position, float freq_base, float freq_scale,
                                     const float *freq_factors, int neox) {
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    const int64_t half = n_rot / 2;
    // The angles of pairs [start, start + ROPE_PAIRS) once for every head (each head turns its pairs alike).
    enum { ROPE_PAIRS = 64 };
    float theta = (float)position;
    for (int64_t start = 0; start < half; start += ROPE_PAIRS) {
        const int64_t pairs = half - start < ROPE_PAIRS ? half - start : ROPE_PAIRS;
        float cosines[ROPE_PAIRS], sines[ROPE_PAIRS];
        for (int64_t j = 0; j < pairs; j++) {
            const float factor = freq_factors ? freq_factors[start + j] : 1.0f;
            const float angle = freq_scale * (theta / factor);
            cosines[j] = cosf(angle);
            sines[j] = sinf(angle);
            theta *= theta_scale;
        }
        for (int64_t h = 0; h < n_heads + n_heads2; h++) {
            float *v = h < n_heads ? x + h * head_dim : x2 + (h - n_heads) * head_dim;
            for (int64_t j = 0; j < pairs; j++) {
                const int64_t i = start + j;
                const float c = cosines[j], s = sines[j];
                const int64_t a = neox ? i : 2 * i;
                const int64_t b = neox ? i + half : 2 * i + 1;
                const float x0 = v[a], x1 = v[b];
                // The contractions llama.cpp's x86 build makes of x0*c - x1*s and x0*s + x1*c (ggml rotate_pairs).
                v[a] = fmaf(x0, c, -(x1 * s));
                v[b] = fmaf(x0, s, x1 * c);
            }
        }
    }
}

SHARD_FMA_VOID(shard_rope_qk, (float *q, int64_t q_heads, float *k, int64_t k_heads, int64_t head_dim, int64_t n_rot,
                               int64_t position, float freq_base, float freq_scale, const float *freq_factors,
                               int neox),
               (q, q_heads, k, k_heads, head_dim, n_rot, position, freq_base, freq_scale, freq_factors, neox))

void shard_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t position, float freq_base,
                float freq_scale, const float *freq_factors, int neox) {
    shard_rope_qk(x, n_heads, x, 0, head_dim, n_rot, position, freq_base, freq_scale, freq_factors, neox);
}

static float gelu_tanh(float x) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    const float coef_a = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + coef_a * x * x)));
}

/// gelu of every half-precision input, rounded to half precision and widened back to float, indexed by the input's
/// half bits (ggml's table, 256 KB, filled once).
static float gelu_table[1 << 16];
static pthread_once_t gelu_table_once = PTHREAD_ONCE_INIT;

static void fill_gelu_table(void) {
    for (uint32_t bits = 0; bits < (1u << 16); bits++)
        gelu_table[bits] = shard_f16_to_f32(shard_f32_to_f16(gelu_tanh(shard_f16_to_f32((uint16_t)bits))));
}

/// Calls with at least this many values read the table; shorter ones (decode steps) evaluate gelu directly, as the
/// table would mostly miss the cache there, the weights having streamed through it since the last layer.
#define GELU_TABLE_MINIMUM 65536

/// gate[i] = gelu(gate[i]) * up[i] for i < count, one value at a time, from the table or evaluated directly.
static void gelu_mul_scalar(float *gate, const float *up, int64_t count, int table) {
    for (int64_t i = 0; i < count; i++) {
        const float g = gate[i];
        float y;
        if (g <= -10.0f) {
            y = 0.0f;
        } else if (g >= 10.0f) {
            y = g;
        } else {
            // ggml's table: gelu of the half-precision input, stored in half precision.
            const uint16_t bits = shard_f32_to_f16(g);
            y = table ? gelu_table[bits] : shard_f16_to_f32(shard_f32_to_f16(gelu_tanh(shard_f16_to_f32(bits))));
        }
        gate[i] = y * up[i];
    }
}

#if defined(__x86_64__)
/// The table path 8 values at a time with AVX2 + F16C, for the first count - count % 8 values: the half-precision
/// input by vcvtps2ph (round to nearest even, as `shard_f32_to_f16` for every value but NaN), the table entry by a
/// gather, the same clamps and the same product. A group holding a NaN is left to the scalar loop (returns its
/// start), whose NaN half bits differ from the instruction's.
__attribute__((target("avx2,f16c"))) static int64_t gelu_mul_table_avx2(float *gate, const float *up,
                                                                        int64_t count) {
    const __m256 low = _mm256_set1_ps(-10.0f), high = _mm256_set1_ps(10.0f);
    int64_t i = 0;
    for (; i + 8 <= count; i += 8) {
        const __m256 g = _mm256_loadu_ps(gate + i);
        if (_mm256_movemask_ps(_mm256_cmp_ps(g, g, _CMP_UNORD_Q))) break;
        const __m128i bits = _mm256_cvtps_ph(g, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256 y = _mm256_i32gather_ps(gelu_table, _mm256_cvtepu16_epi32(bits), 4);
        y = _mm256_blendv_ps(y, g, _mm256_cmp_ps(g, high, _CMP_GE_OQ));
        y = _mm256_blendv_ps(y, _mm256_setzero_ps(), _mm256_cmp_ps(g, low, _CMP_LE_OQ));
        _mm256_storeu_ps(gate + i, _mm256_mul_ps(y, _mm256_loadu_ps(up + i)));
    }
    return i;
}
#endif

void shard_gelu_mul(float *gate, const float *up, int64_t count) {
    const int table = count >= GELU_TABLE_MINIMUM;
    if (table) pthread_once(&gelu_table_once, fill_gelu_table);
    int64_t done = 0;
#if defined(__x86_64__)
    while (table && shard_quantized_uses_simd() && done + 8 <= count) {
        done += gelu_mul_table_avx2(gate + done, up + done, count - done);
        // A group with a NaN: its 8 values on the scalar path below, then the vectors again.
        if (done + 8 <= count) {
            gelu_mul_scalar(gate + done, up + done, 8, table);
            done += 8;
        }
    }
#endif
    gelu_mul_scalar(gate + done, up + done, count - done, table);
}

void shard_add_bias(float *y, const float *bias, int64_t rows, int64_t width) {
    for (int64_t r = 0; r < rows; r++) {
        float *row = y + r * width;
        for (int64_t i = 0; i < width; i++) row[i] += bias[i];
    }
}

void shard_softcap(float *x, int64_t count, float cap) {
    for (int64_t i = 0; i < count; i++) x[i] = cap * tanhf(x[i] / cap);
}

void shard_scale(float *x, int64_t count, float factor) {
    for (int64_t i = 0; i < count; i++) x[i] *= factor;
}
