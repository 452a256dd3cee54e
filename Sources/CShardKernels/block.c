// Element-wise parts of a Llama block: RMSNorm, SwiGLU, residual add (RoPE: layers.c; attention: attention.c).
#include "shard_kernels.h"
#include "fma_dispatch.h"

#include <math.h>

void shard_rmsnorm(const float *x, const float *weight, float *y, int64_t count, float eps) {
    double sum = 0.0;
    // The square rounded to float, then summed in double: ggml's rms_norm (a double product rounds differently).
    for (int64_t i = 0; i < count; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / (double)count);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int64_t i = 0; i < count; i++) y[i] = x[i] * scale * weight[i];
}

void shard_rmsnorm_rows(const float *x, const float *weight, float *y, int64_t rows, int64_t count, float eps) {
    enum { ROWS = 8 };
    int64_t r = 0;
    for (; r + ROWS <= rows; r += ROWS) {
        const float *xr = x + r * count;
        double sum[ROWS] = {0};
        for (int64_t i = 0; i < count; i++)
            for (int j = 0; j < ROWS; j++) sum[j] += (double)(xr[j * count + i] * xr[j * count + i]);
        for (int j = 0; j < ROWS; j++) {
            const float mean = (float)(sum[j] / (double)count);
            const float scale = 1.0f / sqrtf(mean + eps);
            float *yr = y + (r + j) * count;
            for (int64_t i = 0; i < count; i++) yr[i] = xr[j * count + i] * scale * weight[i];
        }
    }
    for (; r < rows; r++) shard_rmsnorm(x + r * count, weight, y + r * count, count, eps);
}

/// exp(x) as ggml's vectorized `ggml_v_expf` computes it in llama.cpp's x86 AVX-512 build (ggml-cpu/vec.h, "adapted
/// from arm limited optimized routine"), which its fused SwiGLU and softmax use: a degree-5 polynomial on the reduced
/// argument, scaled by 2^n (`_mm512_scalef_ps`); |n| > 192 gives 0 or infinity. The same fmas one value at a time
/// give the same bits on any machine. (libm's expf differs from it in the last bit now and then, and one such bit
/// upstream of a Q8_0 activation quantization can flip a value that lies on a rounding midpoint.)
float shard_expf_ggml(float x) { return shard_expf_ggml_inline(x); }

SHARD_INLINE void shard_silu_mul_body(float *gate, const float *up, int64_t count) {
    for (int64_t i = 0; i < count; i++) {
        const float g = gate[i];
        // ggml_v_silu: x / (1 + exp(0 - x)), then times up (ggml_vec_swiglu_f32).
        gate[i] = g / (1.0f + shard_expf_ggml_inline(0.0f - g)) * up[i];
    }
}

SHARD_FMA_VOID(shard_silu_mul, (float *gate, const float *up, int64_t count), (gate, up, count))

void shard_add(float *y, const float *x, int64_t count) {
    for (int64_t i = 0; i < count; i++) y[i] += x[i];
}
