// The loop structure of the attention over cached keys and values, written once: attention.c instantiates it with
// scalar primitives (the portable path), attention_avx2.c with AVX2 ones. The primitives are passed as constant
// function pointers to an always-inline loop, so each instance compiles to direct (inlined) calls under its own
// target attributes.
//
// The arithmetic is that of llama.cpp's CPU attention without flash attention (F32 KV cache, x86 AVX-512 build), so
// that the result has the same bits: scores by ggml_vec_dot_f32, then times `scale`; the softmax of
// ggml_vec_soft_max_f32 (exp by `shard_expf_ggml`, the sum in double of the `att_reduce16` sums of 16 cache cells at
// a time) scaled by the float 1 / sum; the output by ggml_vec_dot_f32 over the cache cells of the value column and
// the weights. Cache cell = position; positions outside [first, last] have weight 0 and add nothing.
//
// The value product: output column i is one accumulator per cache cell slot (p % 64) of fma over the cells p of that
// slot (starting from +0.0), then ggml_vec_dot_f32's fixed tree over the 64 slots (slots 16j + l are lane l of
// accumulator j: (0 + 2), (1 + 3), then (0 + 1), then `att_reduce16`). The loop keeps the 64 slots of up to
// ATT_COLUMNS columns as rows of a tile: each cell adds its weighted value row to its slot's row (`axpy`), then
// `slots` runs the tree down the columns. A slot no cell reaches reads as +0.0, the value its accumulator keeps.
// Every reduction keeps its order whatever the primitives vectorize, so all instances give the same bits.
//
// llama.cpp itself is not batch-invariant here: it multiplies V by the softmax with ggml_vec_dot_f32 only when it
// evaluates one token; for two or more it uses llamafile's sgemm (16 lanes, cell p in lane p % 16, one fma chain
// per lane, then `reduce16`), which differs in the last bits once a row has more than 16 cells. We compute every row
// one way, the one-token (decoding) way.
#ifndef SHARD_ATTENTION_LOOP_H
#define SHARD_ATTENTION_LOOP_H

#include "fma_dispatch.h"

#include <math.h>
#include <stdint.h>

/// Output columns per pass of the value product: 64 slots x 64 columns of accumulators (16 KB).
#define ATT_COLUMNS 64

/// ggml_vec_dot_f32 of x and y (n values): see `dot_f32_ggml` in attention.c.
typedef float (*att_dot_fn)(const float *x, const float *y, int64_t n);
/// acc[c] = fma(v[c], weight, acc[c]) for c < width, or fma(v[c], weight, +0.0) when `first` (the slot's first
/// cell overwrites whatever the tile held).
typedef void (*att_axpy_fn)(float *acc, const float *v, float weight, int64_t width, int first);
/// out[c] for c < width: the tree over slot[0 ... 63][c] described above.
typedef void (*att_slots_fn)(const float *const slot[64], int64_t width, float *out);

/// The sum of 16 lanes in the order of `_mm512_reduce_add_ps`: halves, quarters, then pairs.
SHARD_INLINE float att_reduce16(const float v[16]) {
    float t8[8], t4[4];
    for (int i = 0; i < 8; i++) t8[i] = v[8 + i] + v[i];
    for (int i = 0; i < 4; i++) t4[i] = t8[4 + i] + t8[i];
    const float a = t4[0] + t4[2], b = t4[1] + t4[3];
    return a + b;
}

/// The weights scores[first ... last] (the scaled scores on entry): ggml_vec_soft_max_f32, then times 1 / sum.
SHARD_INLINE void att_softmax(float *scores, int64_t first, int64_t last, float max_score) {
    double total = 0.0;
    for (int64_t chunk = first / 16; chunk <= last / 16; chunk++) {
        float lanes[16];
        for (int l = 0; l < 16; l++) {
            const int64_t p = 16 * chunk + l;
            lanes[l] = 0.0f;
            if (p >= first && p <= last) lanes[l] = scores[p] = shard_expf_ggml_inline(scores[p] - max_score);
        }
        total += (double)att_reduce16(lanes);
    }
    const float inverse = (float)(1.0 / total);
    for (int64_t p = first; p <= last; p++) scores[p] = scores[p] * inverse;
}

/// out[c] for c < width (at most ATT_COLUMNS) of one head: the value columns `values + c` (rows `kv_width` apart)
/// times the weights scores[first ... last].
SHARD_INLINE void att_weighted_values(const float *values, int64_t kv_width, const float *scores, int64_t first,
                                      int64_t last, int64_t width, float *out, att_axpy_fn axpy,
                                      att_slots_fn slots) {
    static const float zeros[ATT_COLUMNS] = {0};
    float acc[64][ATT_COLUMNS];
    const float *slot[64];
    for (int s = 0; s < 64; s++) slot[s] = zeros;
    for (int64_t p = first; p <= last; p++) {
        const int s = (int)(p % 64);
        const int fresh = slot[s] == zeros;
        axpy(acc[s], values + p * kv_width, scores[p], width, fresh);
        slot[s] = acc[s];
    }
    slots(slot, width, out);
}

/// Causal attention of one query row over cells [first, last]: see `shard_attention_range`.
SHARD_INLINE void att_loop(const float *query, const float *keys, const float *values, int64_t first, int64_t last,
                           int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale, float *scores,
                           float *output, att_dot_fn dot, att_axpy_fn axpy, att_slots_fn slots) {
    const int64_t group = n_heads / n_kv_heads;
    const int64_t kv_width = n_kv_heads * head_dim;
    for (int64_t h = 0; h < n_heads; h++) {
        const float *q = query + h * head_dim;
        const int64_t kv = (h / group) * head_dim;
        float max_score = -INFINITY;
        for (int64_t p = first; p <= last; p++) {
            scores[p] = dot(keys + p * kv_width + kv, q, head_dim) * scale;
            if (scores[p] > max_score) max_score = scores[p];
        }
        att_softmax(scores, first, last, max_score);
        for (int64_t c = 0; c < head_dim; c += ATT_COLUMNS) {
            const int64_t width = head_dim - c < ATT_COLUMNS ? head_dim - c : ATT_COLUMNS;
            att_weighted_values(values + kv + c, kv_width, scores, first, last, width, output + h * head_dim + c,
                                axpy, slots);
        }
    }
}

#if defined(__x86_64__)
/// `shard_attention_range` on AVX2 + FMA (attention_avx2.c); `head_dim` must be a multiple of 8.
void shard_attention_range_avx2(const float *query, const float *keys, const float *values, int64_t first,
                                int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                                float *scores, float *output);
#endif

#endif
