// AVX2 + FMA + F16C dot products of the 32-value block types against Q8_0 / Q8_1 activations.
//
// Per block: the weights become 32 bytes in value order (signed for Q4_0/Q5_0/Q8_0, unsigned for Q4_1/Q5_1),
// multiplied with the activation bytes by maddubs (unsigned x signed, pairs summed to int16 without saturation
// at these magnitudes) and madd with ones (pairs of pairs to int32): int32 lane i holds the exact sum over
// values 4i..4i+3. Then lanes = fma(f32(w.d) * f32(x.d), float(lane sums), lanes), with two sets of lanes (even
// and odd blocks: two independent fma chains), added lane-wise at the end, and a fixed horizontal sum; the
// Q4_1/Q5_1 offsets m * s likewise in two running sums. quants.c computes the same operations one lane at a time.
// Q8_0 weights use the tiled kernel of matmul.c (one set of lanes, the same per-block steps).
#include "quant_internal.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/// The fixed horizontal sum, the same tree as `lanes_sum8`.
AVX2_INLINE float hsum8(__m256 v) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/// A half-precision scale at `p` broadcast to 8 float lanes (exact).
AVX2_INLINE __m256 half_x8(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16((short)bits));
}

/// 16 bytes of nibbles to 32 bytes in value order: low nibbles (values 0..15), then high nibbles (16..31).
AVX2_INLINE __m256i nibbles_32(const uint8_t *qs) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// 0xFF in byte i where bit i of the little-endian 32 bits at `qh` is set, else 0.
AVX2_INLINE __m256i bit_mask_32(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    // Byte i gets byte i / 8 of `bits`, then keeps only bit i % 8.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)bits),
        _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
}

/// Exact int32 lane sums of 4 products: signed weights (|w| <= 128) times signed activations (|x| <= 127).
AVX2_INLINE __m256i dot_signed(__m256i w, __m256i x) {
    const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

/// Exact int32 lane sums of 4 products: unsigned weights (< 64) times signed activations.
AVX2_INLINE __m256i dot_unsigned(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

/// A half-precision value at `p` as a float (exact, the same value as `load_half`). Converted from a whole
/// register (movd): `_cvtsh_ss` becomes an insert into whatever register is free, possibly an accumulator,
/// which chains every block behind the previous one's fma.
AVX2_INLINE float half_f32(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits)));
}

AVX2_INLINE __m256i load_x(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// One block's contribution: lanes = fma(w.d * x.d, float(q), lanes); `xd`: the activation scale as a float.
AVX2_INLINE __m256 accumulate(__m256 lanes, const uint8_t *wd, const float *xd, __m256i q) {
    const __m256 d = _mm256_mul_ps(half_x8(wd), _mm256_broadcast_ss(xd));
    return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(q), lanes);
}

// One block's contribution for each type, then a loop that runs blocks 2j and 2j+1 on two accumulator sets.

AVX2_INLINE __m256 step_q4_0(__m256 lanes, const uint8_t *w, const uint8_t *x, const float *xs, int64_t k) {
    const uint8_t *wb = w + k * BYTES_Q4_0, *xb = x + k * BYTES_Q8_0;
    const __m256i q = _mm256_sub_epi8(nibbles_32(wb + 2), _mm256_set1_epi8(8));
    return accumulate(lanes, wb, xs + k, dot_signed(q, load_x(xb + 2)));
}

AVX2_INLINE __m256 step_q5_0(__m256 lanes, const uint8_t *w, const uint8_t *x, const float *xs, int64_t k) {
    const uint8_t *wb = w + k * BYTES_Q5_0, *xb = x + k * BYTES_Q8_0;
    // value - 16 = nibble when the fifth bit is set, nibble - 16 when it is not.
    const __m256i minus = _mm256_andnot_si256(bit_mask_32(wb + 2), _mm256_set1_epi8(16));
    const __m256i q = _mm256_sub_epi8(nibbles_32(wb + 6), minus);
    return accumulate(lanes, wb, xs + k, dot_signed(q, load_x(xb + 2)));
}

AVX2_INLINE __m256 step_q4_1(__m256 lanes, float *offsets, const uint8_t *w, const uint8_t *x, const float *xs,
                              int64_t k) {
    const uint8_t *wb = w + k * BYTES_Q4_1, *xb = x + k * BYTES_Q8_1;
    *offsets = fmaf(half_f32(wb + 2), xs[2 * k + 1], *offsets);
    return accumulate(lanes, wb, xs + 2 * k, dot_unsigned(nibbles_32(wb + 4), load_x(xb + 4)));
}

AVX2_INLINE __m256 step_q5_1(__m256 lanes, float *offsets, const uint8_t *w, const uint8_t *x, const float *xs,
                              int64_t k) {
    const uint8_t *wb = w + k * BYTES_Q5_1, *xb = x + k * BYTES_Q8_1;
    *offsets = fmaf(half_f32(wb + 2), xs[2 * k + 1], *offsets);
    const __m256i high = _mm256_and_si256(bit_mask_32(wb + 4), _mm256_set1_epi8(16));
    const __m256i q = _mm256_or_si256(nibbles_32(wb + 8), high);
    return accumulate(lanes, wb, xs + 2 * k, dot_unsigned(q, load_x(xb + 4)));
}

#define DOT_TWO_CHAINS(STEP)                                                                                     \
    __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();                                                \
    int64_t k = 0;                                                                                               \
    for (; k + 2 <= blocks; k += 2) {                                                                            \
        even = STEP(even, w, x, xs, k);                                                                              \
        odd = STEP(odd, w, x, xs, k + 1);                                                                            \
    }                                                                                                            \
    if (k < blocks) even = STEP(even, w, x, xs, k);                                                                  \
    return hsum8(_mm256_add_ps(even, odd))

#define DOT_TWO_CHAINS_OFFSETS(STEP)                                                                             \
    __m256 even = _mm256_setzero_ps(), odd = _mm256_setzero_ps();                                                \
    float even_offsets = 0.0f, odd_offsets = 0.0f;                                                               \
    int64_t k = 0;                                                                                               \
    for (; k + 2 <= blocks; k += 2) {                                                                            \
        even = STEP(even, &even_offsets, w, x, xs, k);                                                               \
        odd = STEP(odd, &odd_offsets, w, x, xs, k + 1);                                                              \
    }                                                                                                            \
    if (k < blocks) even = STEP(even, &even_offsets, w, x, xs, k);                                                   \
    return hsum8(_mm256_add_ps(even, odd)) + (even_offsets + odd_offsets)

AVX2_FN float shard_dot_q4_0_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    DOT_TWO_CHAINS(step_q4_0);
}
AVX2_FN float shard_dot_q5_0_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    DOT_TWO_CHAINS(step_q5_0);
}
AVX2_FN float shard_dot_q4_1_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    DOT_TWO_CHAINS_OFFSETS(step_q4_1);
}
AVX2_FN float shard_dot_q5_1_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    DOT_TWO_CHAINS_OFFSETS(step_q5_1);
}
#endif
