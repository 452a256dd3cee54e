// Element-wise parts of a Llama block: RMSNorm, SwiGLU, residual add (rotary embedding and attention: layers.c).
#include "shard_kernels.h"

#include <math.h>

void shard_rmsnorm(const float *x, const float *weight, float *y, int64_t count, float eps) {
    double sum = 0.0;
    for (int64_t i = 0; i < count; i++) sum += (double)x[i] * (double)x[i];
    const float mean = (float)(sum / (double)count);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < count; i++) y[i] = x[i] * scale * weight[i];
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
