/// Element-wise and attention operations of the model families beyond the original Llama block: general rotary
/// embedding (NEOX layout, frequency factors, linear scaling), GELU gating, sliding-window attention with an
/// explicit scale, biases and logit soft-capping. Each follows the arithmetic of ggml's CPU backend.
#ifndef SHARD_LAYERS_H
#define SHARD_LAYERS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rotary position embedding of the first `n_rot` values of each of `n_heads` heads of `head_dim` values.
/// Pair i (of n_rot / 2) turns by `freq_scale * position * freq_base^(-2i/n_rot) / factor_i`, where
/// `factor_i = freq_factors[i]` when `freq_factors` is not NULL (Llama 3 `rope_freqs`), else 1.
/// `neox` 0 pairs (x[2i], x[2i+1]) (llama.cpp's normal mode); 1 pairs (x[i], x[i + n_rot/2]) (NEOX mode).
void shard_rope(float *x, int64_t n_heads, int64_t head_dim, int64_t n_rot, int64_t position, float freq_base,
                float freq_scale, const float *freq_factors, int neox);

/// `shard_rope` of `q_heads` query heads at `q` and `k_heads` key heads at `k`, all at `position`: the same bits as
/// two calls, with the angles computed once.
void shard_rope_qk(float *q, int64_t q_heads, float *k, int64_t k_heads, int64_t head_dim, int64_t n_rot,
                   int64_t position, float freq_base, float freq_scale, const float *freq_factors, int neox);

/// gate[i] = gelu(gate[i]) * up[i], with gelu the tanh approximation evaluated as ggml's CPU backend does by
/// default (input and result rounded through half precision, its GELU table; identity above 10, 0 below -10).
void shard_gelu_mul(float *gate, const float *up, int64_t count);

/// Causal attention of one query row over cached positions `[first, last]` (inclusive), grouped-query as
/// `shard_attention`, with scores multiplied by `scale`. Caches are indexed from position 0.
/// `scores` must hold `last + 1` floats. Writes `n_heads * head_dim` floats to `output`.
void shard_attention_range(const float *query, const float *keys, const float *values, int64_t first,
                           int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, float scale,
                           float *scores, float *output);

/// As `shard_attention_range`, always on the portable scalar path (`shard_attention_range` uses AVX2 where the
/// machine has it and the head dimension is a multiple of 8; both give the same bits).
void shard_attention_range_portable(const float *query, const float *keys, const float *values, int64_t first,
                                    int64_t last, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim,
                                    float scale, float *scores, float *output);

/// y[r * width + i] += bias[i] for every row r of `rows`.
void shard_add_bias(float *y, const float *bias, int64_t rows, int64_t width);

/// x[i] = cap * tanh(x[i] / cap).
void shard_softcap(float *x, int64_t count, float cap);

/// x[i] *= factor.
void shard_scale(float *x, int64_t count, float factor);

#ifdef __cplusplus
}
#endif

#endif
