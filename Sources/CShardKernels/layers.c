// Operations of the Qwen2 and Gemma 3 blocks and Llama 3 RoPE; see shard_layers.h.
#include "shard_layers.h"
#include "shard_kernels.h"
#include "fma_dispatch.h"

#include <math.h>
#include <pthread.h>

SHARD_INLINE void shard_rope_body(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t position,
                                  float freq_base, float freq_scale, const float *freq_factors, int neox) {
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    const int64_t half = n_rot / 2;
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        float theta = (float)position;
        for (int64_t i = 0; i < half; i++) {
            const float factor = freq_factors ? freq_factors[i] : 1.0f;
            const float angle = freq_scale * (theta / factor);
            const float c = cosf(angle), s = sinf(angle);
            const int64_t a = neox ? i : 2 * i;
            const int64_t b = neox ? i + half : 2 * i + 1;
            const float x0 = v[a], x1 = v[b];
            // The contractions llama.cpp's x86 build makes of x0*c - x1*s and x0*s + x1*c (ggml rotate_pairs).
            v[a] = fmaf(x0, c, -(x1 * s));
            v[b] = fmaf(x0, s, x1 * c);
            theta *= theta_scale;
        }
    }
}

SHARD_FMA_VOID(shard_rope, (float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t position,
                            float freq_base, float freq_scale, const float *freq_factors, int neox),
               (x, n_heads, head_dim, n_rot, position, freq_base, freq_scale, freq_factors, neox))

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

void shard_gelu_mul(float *gate, const float *up, int64_t count) {
    const int table = count >= GELU_TABLE_MINIMUM;
    if (table) pthread_once(&gelu_table_once, fill_gelu_table);
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

/// The sum of 16 lanes in the order of `_mm512_reduce_add_ps`: halves, quarters, then pairs.
SHARD_INLINE float reduce16(const float v[16]) {
    float t8[8], t4[4];
    for (int i = 0; i < 8; i++) t8[i] = v[8 + i] + v[i];
    for (int i = 0; i < 4; i++) t4[i] = t8[4 + i] + t8[i];
    const float a = t4[0] + t4[2], b = t4[1] + t4[3];
    return a + b;
}

/// ggml_vec_dot_f32 of llama.cpp's x86 AVX-512 build: 4 accumulators of 16 lanes; element e of each 64-element step
/// goes to accumulator (e % 64) / 16, lane e % 16, by fma; then accumulators (0+2, 1+3), (0+1), `reduce16`, and the
/// remainder (n % 64 elements) in double.
SHARD_INLINE float dot_f32_ggml(const float *x, const float *y, int64_t n) {
    float acc[4][16] = {{0}};
    const int64_t np = n & ~(int64_t)63;
    for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 4; j++)
            for (int l = 0; l < 16; l++) acc[j][l] = fmaf(x[i + 16 * j + l], y[i + 16 * j + l], acc[j][l]);
    for (int l = 0; l < 16; l++) {
        acc[0][l] = acc[0][l] + acc[2][l];
        acc[1][l] = acc[1][l] + acc[3][l];
    }
    for (int l = 0; l < 16; l++) acc[0][l] = acc[0][l] + acc[1][l];
    double sum = reduce16(acc[0]);
    for (int64_t i = np; i < n; i++) sum += (double)(x[i] * y[i]);
    return (float)sum;
}

// The arithmetic is that of llama.cpp's CPU attention without flash attention (F32 KV cache, x86 AVX-512 build), so
// that the result has the same bits: scores by ggml_vec_dot_f32, then times `scale`; the softmax of
// ggml_vec_soft_max_f32 (exp by `shard_expf_ggml`, the sum in double of the `reduce16` sums of 16 cache cells at a
// time) scaled by the float 1 / sum; the output by ggml_vec_dot_f32 over the cache cells of the value column and the
// weights. Cache cell = position; positions outside [first, last] have weight 0 and add nothing.
//
// llama.cpp itself is not batch-invariant here: it multiplies V by the softmax with ggml_vec_dot_f32 only when it
// evaluates one token; for two or more it uses llamafile's sgemm (16 lanes, cell p in lane p % 16, one fma chain
// per lane, then `reduce16`), which differs in the last bits once a row has more than 16 cells. We compute every row
// one way, the one-token (decoding) way. attention_avx2.c runs the same arithmetic in vectors.
SHARD_INLINE void shard_attention_range_portable_body(const float *query, const float *keys, const float *values,
                                                      int64_t first, int64_t last, int64_t n_heads, int64_t n_kv_heads,
                                                      int64_t head_dim, float scale, float *scores, float *output) {
    const int64_t group = n_heads / n_kv_heads;
    const int64_t kv_width = n_kv_heads * head_dim;
    for (int64_t h = 0; h < n_heads; h++) {
        const float *q = query + h * head_dim;
        const int64_t kv = (h / group) * head_dim;
        float max_score = -INFINITY;
        for (int64_t p = first; p <= last; p++) {
            scores[p] = dot_f32_ggml(keys + p * kv_width + kv, q, head_dim) * scale;
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
            total += (double)reduce16(lanes);
        }
        const float inverse = (float)(1.0 / total);
        for (int64_t p = first; p <= last; p++) scores[p] = scores[p] * inverse;
        float *out = output + h * head_dim;
        for (int64_t i = 0; i < head_dim; i++) {
            float acc[4][16] = {{0}};
            for (int64_t p = first; p <= last; p++) {
                float *a = &acc[(p % 64) / 16][p % 16];
                *a = fmaf(values[p * kv_width + kv + i], scores[p], *a);
            }
            for (int l = 0; l < 16; l++) {
                acc[0][l] = acc[0][l] + acc[2][l];
                acc[1][l] = acc[1][l] + acc[3][l];
            }
            for (int l = 0; l < 16; l++) acc[0][l] = acc[0][l] + acc[1][l];
            out[i] = reduce16(acc[0]);
        }
    }
}

SHARD_FMA_VOID(shard_attention_range_portable,
               (const float *query, const float *keys, const float *values, int64_t first, int64_t last,
                int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, float *scores, float *output),
               (query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores, output))

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
