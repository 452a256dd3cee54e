// AVX2 + FMA + F16C dot products of the 32-value block types against Q8_0 / Q8_1 activations.
//
// Per block: the weights become 32 bytes in value order (signed for Q4_0/Q5_0/Q8_0, unsigned for Q4_1/Q5_1),
// multiplied with the activation bytes by maddubs (unsigned x signed, pairs summed to int16 without saturation
// at these magnitudes) and madd with ones (pairs of pairs to int32): int32 lane i holds the exact sum over
// values 4i..4i+3. Then lanes = fma(f32(w.d) * f32(x.d), float(lane sums), lanes), and a fixed horizontal sum.
// quants.c computes the same operations one lane at a time.
#include "quant_internal.h"
#include "bits_avx2.h"

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

/// A half-precision value at `p` as a float (exact, the same value as `load_half`).
AVX2_INLINE float half_f32(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _cvtsh_ss(bits);
}

AVX2_INLINE __m256i load_x(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// Exact int32 lane sums of 4 products: signed weights (|w| <= 128) times signed activations (|x| <= 127).
AVX2_INLINE __m256i dot_signed(__m256i w, __m256i x) {
    const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(x, w));
    return _mm256_madd_epi16(products, _mm256_set1_epi16(1));
}

/// Exact int32 lane sums of 4 products: unsigned weights (< 64) times signed activations.
AVX2_INLINE __m256i dot_unsigned(__m256i w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, x), _mm256_set1_epi16(1));
}

/// One block's contribution: lanes = fma(w.d * x.d, float(q), lanes).
AVX2_INLINE __m256 accumulate(__m256 lanes, const uint8_t *wd, const uint8_t *xd, __m256i q) {
    const __m256 d = _mm256_mul_ps(half_x8(wd), half_x8(xd));
    return _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(q), lanes);
}

/// The exact sum of 8 int32 lanes.
AVX2_INLINE int32_t hsum_i32_8(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

/// Q4_0 follows llama.cpp's x86 arithmetic for Q4_0 weights, which it repacks to `q4_0_8x8` and multiplies with
/// ggml_gemv/gemm_q4_0_8x8_q8_0: per block the exact integer sum of all 32 products, then one float chain
/// s = fma(float(sum), w.d * x.d, s) and no horizontal float sum (see quants.c).
AVX2_FN float shard_dot_q4_0_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    float s = 0.0f;
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * BYTES_Q4_0, *xb = x + k * BYTES_Q8_0;
        const __m256i q = _mm256_sub_epi8(nibbles_32(wb + 2), _mm256_set1_epi8(8));
        const int32_t sum = hsum_i32_8(dot_signed(q, load_x(xb + 2)));
        s = fmaf((float)sum, half_f32(wb) * half_f32(xb), s);
    }
    return s;
}

AVX2_FN float shard_dot_q5_0_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    __m256 lanes = _mm256_setzero_ps();
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * BYTES_Q5_0, *xb = x + k * BYTES_Q8_0;
        // value - 16 = nibble when the fifth bit is set, nibble - 16 when it is not.
        const __m256i minus = _mm256_andnot_si256(bit_mask_32(wb + 2), _mm256_set1_epi8(16));
        const __m256i q = _mm256_sub_epi8(nibbles_32(wb + 6), minus);
        lanes = accumulate(lanes, wb, xb, dot_signed(q, load_x(xb + 2)));
    }
    return hsum8(lanes);
}

AVX2_FN float shard_dot_q8_0_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    __m256 lanes = _mm256_setzero_ps();
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * BYTES_Q8_0, *xb = x + k * BYTES_Q8_0;
        lanes = accumulate(lanes, wb, xb, dot_signed(load_x(wb + 2), load_x(xb + 2)));
    }
    return hsum8(lanes);
}

AVX2_FN float shard_dot_q4_1_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    __m256 lanes = _mm256_setzero_ps();
    float offsets = 0.0f;
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * BYTES_Q4_1, *xb = x + k * BYTES_Q8_1;
        lanes = accumulate(lanes, wb, xb, dot_unsigned(nibbles_32(wb + 4), load_x(xb + 4)));
        offsets = fmaf(half_f32(wb + 2), half_f32(xb + 2), offsets);
    }
    return hsum8(lanes) + offsets;
}

AVX2_FN float shard_dot_q5_1_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    __m256 lanes = _mm256_setzero_ps();
    float offsets = 0.0f;
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = w + k * BYTES_Q5_1, *xb = x + k * BYTES_Q8_1;
        const __m256i high = _mm256_and_si256(bit_mask_32(wb + 4), _mm256_set1_epi8(16));
        const __m256i q = _mm256_or_si256(nibbles_32(wb + 8), high);
        lanes = accumulate(lanes, wb, xb, dot_unsigned(q, load_x(xb + 4)));
        offsets = fmaf(half_f32(wb + 2), half_f32(xb + 2), offsets);
    }
    return hsum8(lanes) + offsets;
}
#endif
