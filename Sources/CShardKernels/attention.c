// Attention over cached keys and values: the scalar primitives of the loop in attention_loop.h (the portable path)
// and the run-time choice between it and the AVX2 instance of attention_avx2.c.
#include "attention_loop.h"
#include "shard_layers.h"

/// ggml_vec_dot_f32 of llama.cpp's x86 AVX-512 build: 4 accumulators of 16 lanes; element e of each 64-element step
/// goes to accumulator (e % 64) / 16, lane e % 16, by fma; then accumulators (0+2, 1+3), (0+1), `att_reduce16`, and
/// the remainder (n % 64 elements) in double.
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
    double sum = att_reduce16(acc[0]);
    for (int64_t i = np; i < n; i++) sum += (double)(x[i] * y[i]);
    return (float)sum;
}

SHARD_INLINE void axpy_scalar(float *acc, const float *v, float weight, int64_t width, int first) {
    if (first) {
        for (int64_t c = 0; c < width; c++) acc[c] = fmaf(v[c], weight, 0.0f);
    } else {
        for (int64_t c = 0; c < width; c++) acc[c] = fmaf(v[c], weight, acc[c]);
    }
}

SHARD_INLINE void slots_scalar(const float *const slot[64], int64_t width, float *out) {
    for (int64_t c = 0; c < width; c++) {
        float lanes[16];
        for (int l = 0; l < 16; l++) {
            const float a0 = slot[l][c] + slot[32 + l][c], a1 = slot[16 + l][c] + slot[48 + l][c];
            lanes[l] = a0 + a1;
        }
        out[c] = att_reduce16(lanes);
    }
}

SHARD_INLINE void shard_attention_range_portable_body(const float *query, const float *keys, const float *values,
                                                      int64_t first, int64_t last, int64_t n_heads, int64_t n_kv_heads,
                                                      int64_t head_dim, float scale, float *scores, float *output) {
    att_loop(query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores, output, dot_f32_ggml,
             axpy_scalar, slots_scalar);
}

SHARD_FMA_VOID(shard_attention_range_portable,
               (const float *query, const float *keys, const float *values, int64_t first, int64_t last,
                int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, float *scores, float *output),
               (query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores, output))

void shard_attention_range(const float *query, const float *keys, const float *values, int64_t first,
                           int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                           float *scores, float *output) {
#if defined(__x86_64__)
    static int avx2 = -1;
    if (avx2 < 0) avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    if (avx2 && head_dim % 8 == 0) {
        shard_attention_range_avx2(query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores,
                                   output);
        return;
    }
#endif
    shard_attention_range_portable(query, keys, values, first, last, n_heads, n_kv_heads, head_dim, scale, scores,
                                   output);
}
