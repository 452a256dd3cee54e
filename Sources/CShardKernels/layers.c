// Operations of the Qwen2 and Gemma 3 blocks and Llama 3 RoPE; see shard_layers.h.
#include "shard_layers.h"
#include "shard_kernels.h"

#include <math.h>

void shard_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t position, float freq_base,
                float freq_scale, const float *freq_factors, int neox) {
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
            v[a] = x0 * c - x1 * s;
            v[b] = x0 * s + x1 * c;
            theta *= theta_scale;
        }
    }
}

static float gelu_tanh(float x) {
    const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
    const float coef_a = 0.044715f;
    return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + coef_a * x * x)));
}

void shard_gelu_mul(float *gate, const float *up, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        const float g = gate[i];
        float y;
        if (g <= -10.0f) {
            y = 0.0f;
        } else if (g >= 10.0f) {
            y = g;
        } else {
            // ggml's table: gelu of the half-precision input, stored in half precision.
            const float rounded = shard_f16_to_f32(shard_f32_to_f16(g));
            y = shard_f16_to_f32(shard_f32_to_f16(gelu_tanh(rounded)));
        }
        gate[i] = y * up[i];
    }
}

void shard_attention_range(const float *query, const float *keys, const float *values, int64_t first,
                           int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                           float *scores, float *output) {
    const int64_t group = n_heads / n_kv_heads;
    const int64_t kv_width = n_kv_heads * head_dim;
    for (int64_t h = 0; h < n_heads; h++) {
        const float *q = query + h * head_dim;
        const int64_t kv = (h / group) * head_dim;
        float max_score = -INFINITY;
        for (int64_t p = first; p <= last; p++) {
            const float *k = keys + p * kv_width + kv;
            float dot = 0.0f;
            for (int64_t i = 0; i < head_dim; i++) dot += q[i] * k[i];
            scores[p] = dot * scale;
            if (scores[p] > max_score) max_score = scores[p];
        }
        double total = 0.0;
        for (int64_t p = first; p <= last; p++) {
            scores[p] = expf(scores[p] - max_score);
            total += scores[p];
        }
        const float inverse = (float)(1.0 / total);
        float *out = output + h * head_dim;
        for (int64_t i = 0; i < head_dim; i++) out[i] = 0.0f;
        for (int64_t p = first; p <= last; p++) {
            const float weight = scores[p] * inverse;
            const float *v = values + p * kv_width + kv;
            for (int64_t i = 0; i < head_dim; i++) out[i] += weight * v[i];
        }
    }
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
