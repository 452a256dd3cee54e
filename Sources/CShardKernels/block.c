// Element-wise parts of a Llama block: RMSNorm, rotary embedding, SwiGLU, residual add, attention.
#include "shard_kernels.h"

#include <math.h>

void shard_rmsnorm(const float *x, const float *weight, float *y, int64_t count, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < count; i++) sum += (double)x[i] * (double)x[i];
    const float mean = (float)(sum / (double)count);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < count; i++) y[i] = x[i] * scale * weight[i];
}

void shard_rope_adjacent(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t position,
                         float freq_base) {
    const float theta_scale = powf(freq_base, -2.0f / (float)n_rot);
    for (int64_t h = 0; h < n_heads; h++) {
        float *v = x + h * head_dim;
        float theta = (float)position;
        for (int64_t i = 0; i < n_rot; i += 2) {
            const float c = cosf(theta), s = sinf(theta);
            const float x0 = v[i], x1 = v[i + 1];
            v[i] = x0 * c - x1 * s;
            v[i + 1] = x0 * s + x1 * c;
            theta *= theta_scale;
        }
    }
}

void shard_silu_mul(float *gate, const float *up, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        const float g = gate[i];
        gate[i] = g / (1.0f + expf(-g)) * up[i];
    }
}

void shard_add(float *y, const float *x, int64_t count) {
    for (int64_t i = 0; i < count; i++) y[i] += x[i];
}

void shard_attention(const float *query, const float *keys, const float *values, int64_t n_positions,
                     int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float *scores, float *output) {
    const int64_t group = n_heads / n_kv_heads;
    const int64_t kv_width = n_kv_heads * head_dim;
    const float scale = 1.0f / sqrtf((float)head_dim);
    for (int64_t h = 0; h < n_heads; h++) {
        const float *q = query + h * head_dim;
        const int64_t kv = (h / group) * head_dim;
        float max_score = -INFINITY;
        for (int64_t p = 0; p < n_positions; p++) {
            const float *k = keys + p * kv_width + kv;
            float dot = 0.0f;
            for (int64_t i = 0; i < head_dim; i++) dot += q[i] * k[i];
            scores[p] = dot * scale;
            if (scores[p] > max_score) max_score = scores[p];
        }
        double total = 0.0;
        for (int64_t p = 0; p < n_positions; p++) {
            scores[p] = expf(scores[p] - max_score);
            total += scores[p];
        }
        const float inverse = (float)(1.0 / total);
        float *out = output + h * head_dim;
        for (int64_t i = 0; i < head_dim; i++) out[i] = 0.0f;
        for (int64_t p = 0; p < n_positions; p++) {
            const float weight = scores[p] * inverse;
            const float *v = values + p * kv_width + kv;
            for (int64_t i = 0; i < head_dim; i++) out[i] += weight * v[i];
        }
    }
}
