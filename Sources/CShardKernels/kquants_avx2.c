// AVX2 + FMA + F16C dot products of the K block types (Q2_K ... Q6_K) against Q8_K activations, and the Q8_K
// quantization of the activations.
//
// Per 256-value block, the quants are unpacked 32 at a time into bytes in value order, multiplied with the
// activation bytes by maddubs (unsigned x signed, or |w| x sign-adjusted x for signed Q3_K quants; no int16
// saturation at these magnitudes), and the int16 pair sums multiplied by the group scales and widened by madd.
// The int32 lanes hold the same exact integers as those of the portable path (kquants.c), and the float steps
// are the same: Q2_K and Q4_K sum the lanes per block into two float chains; Q3_K, Q5_K and Q6_K keep 8 float
// lanes (llama.cpp's ggml_vec_dot_*_q8_K), summed at the end by `hsum_lanes` (the tree of `lanes_sum8`).
// Q6_K quants are used unsigned (0..63) and the -32 offset of chunk i is subtracted in lane i, as llama.cpp does.
#include "quant_internal.h"
#include "bits_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>

#define AVX2_FN __attribute__((target("avx2,fma,f16c")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/// The exact sum of 8 int32 lanes.
AVX2_INLINE int32_t hsum_i32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

AVX2_INLINE float half_f32(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _cvtsh_ss(bits);
}

AVX2_INLINE __m256i load32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// int16 scale `first` for values 0..15 of a 32-value chunk and `second` for values 16..31.
AVX2_INLINE __m256i scale_pair(int first, int second) {
    return _mm256_set_m128i(_mm_set1_epi16((short)second), _mm_set1_epi16((short)first));
}

/// Scaled int32 lane sums of one chunk: unsigned quants (< 64) times activations, times the group scales.
AVX2_INLINE __m256i chunk_unsigned(__m256i q, const uint8_t *x, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load32(x)), scales);
}

/// The same for signed quants (|q| <= 4).
AVX2_INLINE __m256i chunk_signed(__m256i q, const uint8_t *x, __m256i scales) {
    const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(load32(x), q));
    return _mm256_madd_epi16(products, scales);
}

/// The activation group sums of a Q8_K block.
AVX2_INLINE int16_t bsum(const uint8_t *xb, int g) {
    int16_t value;
    memcpy(&value, xb + Q8K_BSUMS + 2 * g, 2);
    return value;
}

/// The fixed horizontal sum of 8 float lanes: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), as `lanes_sum8`.
AVX2_INLINE float hsum_lanes(__m256 lanes) {
    __m128 lo = _mm_add_ps(_mm256_castps256_ps128(lanes), _mm256_extractf128_ps(lanes, 1));
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/// lanes = fma(x.d * d, float(acc), lanes): one block's step of the 8 float lanes.
AVX2_INLINE __m256 lanes_fma(__m256 lanes, const uint8_t *xb, float wd, __m256i acc) {
    float xd;
    memcpy(&xd, xb + Q8K_D, 4);
    return _mm256_fmadd_ps(_mm256_set1_ps(xd * wd), _mm256_cvtepi32_ps(acc), lanes);
}

AVX2_FN float shard_dot_q2_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    const __m256i three = _mm256_set1_epi8(3);
    float s = 0.0f, m = 0.0f;
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q2_K, *xb = x + n * BYTES_Q8_K;
        const uint8_t *sc = wb + Q2K_SCALES, *xq = xb + Q8K_QS;
        int32_t summ = 0;
        for (int g = 0; g < 16; g++) summ += (sc[g] >> 4) * bsum(xb, g);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i bits = load32(wb + Q2K_QS + 32 * h);
            for (int t = 0; t < 4; t++) {
                const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * t), three);
                const int g = 8 * h + 2 * t;
                acc = _mm256_add_epi32(acc, chunk_unsigned(q, xq + 128 * h + 32 * t,
                                                           scale_pair(sc[g] & 0x0F, sc[g + 1] & 0x0F)));
            }
        }
        // The two chains of llama.cpp's repacked q2_K_8x8 kernels (see shard_dot_q2_k_scalar).
        float xd;
        memcpy(&xd, xb + Q8K_D, 4);
        s = fmaf((float)hsum_i32(acc), half_f32(wb + Q2K_D) * xd, s);
        m = fmaf((float)summ, half_f32(wb + Q2K_DMIN) * xd, m);
    }
    return s - m;
}

AVX2_FN float shard_dot_q3_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    __m256 lanes = _mm256_setzero_ps();
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q3_K, *xb = x + n * BYTES_Q8_K;
        const uint8_t *xq = xb + Q8K_QS;
        int8_t sc[16];
        q3k_scales(wb + Q3K_SCALES, sc);
        const __m256i hmask = load32(wb + Q3K_HMASK);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i bits = load32(wb + Q3K_QS + 32 * h);
            for (int t = 0; t < 4; t++) {
                const __m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + t)));
                const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hmask, bit), bit);
                const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * t), three);
                const __m256i q = _mm256_sub_epi8(low, _mm256_andnot_si256(set, four));
                const int g = 8 * h + 2 * t;
                acc = _mm256_add_epi32(acc, chunk_signed(q, xq + 128 * h + 32 * t, scale_pair(sc[g], sc[g + 1])));
            }
        }
        lanes = lanes_fma(lanes, xb, half_f32(wb + Q3K_D), acc);
    }
    return hsum_lanes(lanes);
}

/// Q4_K and Q5_K (`has_high`: Q5_K's fifth bits at `Q5K_QH`).
AVX2_INLINE float dot_q45_k(const uint8_t *w, const uint8_t *x, int64_t blocks, int has_high) {
    const int64_t bytes = has_high ? BYTES_Q5_K : BYTES_Q4_K;
    const int qs_offset = has_high ? Q5K_QS : Q4K_QS;
    float s = 0.0f, m = 0.0f;
    __m256 lanes = _mm256_setzero_ps();
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * bytes, *xb = x + n * BYTES_Q8_K;
        const uint8_t *xq = xb + Q8K_QS;
        uint8_t sc[8], mn[8];
        kquant_scales_mins(wb + Q4K_SCALES, sc, mn);
        int32_t summ = 0;
        for (int j = 0; j < 8; j++) summ += mn[j] * (bsum(xb, 2 * j) + bsum(xb, 2 * j + 1));
        const __m256i high = has_high ? load32(wb + Q5K_QH) : _mm256_setzero_si256();
        __m256i acc = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            __m256i lo, hi;
            q45_k_chunks(wb + qs_offset, high, has_high, c, &lo, &hi);
            const __m256i pl = chunk_unsigned(lo, xq + 64 * c, _mm256_set1_epi16((short)sc[2 * c]));
            const __m256i ph = chunk_unsigned(hi, xq + 64 * c + 32, _mm256_set1_epi16((short)sc[2 * c + 1]));
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(pl, ph));
        }
        if (has_high) {
            // Q5_K: the lanes of ggml_vec_dot_q5_K_q8_K (see shard_dot_q5_k_scalar).
            float xd;
            memcpy(&xd, xb + Q8K_D, 4);
            lanes = lanes_fma(lanes, xb, half_f32(wb), acc);
            m = fmaf(-xd * half_f32(wb + 2), (float)summ, m);
        } else {
            // Q4_K: the two chains of llama.cpp's repacked q4_K_8x8 kernels (see shard_dot_q4_k_scalar).
            float xd;
            memcpy(&xd, xb + Q8K_D, 4);
            s = fmaf((float)hsum_i32(acc), half_f32(wb) * xd, s);
            m = fmaf((float)summ, half_f32(wb + 2) * xd, m);
        }
    }
    return has_high ? hsum_lanes(lanes) + m : s - m;
}

AVX2_FN float shard_dot_q4_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_q45_k(w, x, blocks, 0);
}

AVX2_FN float shard_dot_q5_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return dot_q45_k(w, x, blocks, 1);
}

AVX2_FN float shard_dot_q6_k_avx2(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    __m256 lanes = _mm256_setzero_ps();
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q6_K, *xb = x + n * BYTES_Q8_K;
        const uint8_t *xq = xb + Q8K_QS;
        const int8_t *sc = (const int8_t *)(wb + Q6K_SCALES);
        // Lane i: 32 * (scale[2i] * bsums[2i] + scale[2i+1] * bsums[2i+1]), the -32 offset of chunk i.
        const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(load32(xb + Q8K_BSUMS), scales16), 5);
        __m256i q[8];
        q6_k_chunks(wb, q);
        __m256i acc = _mm256_setzero_si256();
        for (int j = 0; j < 8; j++)
            acc = _mm256_add_epi32(acc, chunk_unsigned(q[j], xq + 32 * j, scale_pair(sc[2 * j], sc[2 * j + 1])));
        lanes = lanes_fma(lanes, xb, half_f32(wb + Q6K_D), _mm256_sub_epi32(acc, offset));
    }
    return hsum_lanes(lanes);
}

/// Q8_K activations, as `shard_quantize_row_q8_k_portable`: the first value of largest magnitude (NaN skipped, as
/// `a > amax` skips it), the same scale and products, rounded to nearest even (as nearbyintf in the default mode),
/// NaN products to 0, clamped to +-127; the 16-value sums are exact integers.
AVX2_FN void shard_quantize_row_q8_k_avx2(const float *source, uint8_t *blocks, int64_t count) {
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t n = 0; n < count / QKK; n++) {
        const float *x = source + n * QKK;
        uint8_t *b = blocks + n * BYTES_Q8_K;
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < QKK; j += 8) m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)), m);
        __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
        m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
        m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
        const float amax = _mm_cvtss_f32(m4);
        float d = 0.0f;
        if (amax == 0.0f) {
            memset(b + Q8K_QS, 0, QKK + 2 * (QKK / 16));
        } else {
            float max = 0.0f;
            const __m256 amax8 = _mm256_set1_ps(amax);
            for (int j = 0; j < QKK; j += 8) {
                const __m256 a = _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j));
                const int hits = _mm256_movemask_ps(_mm256_cmp_ps(a, amax8, _CMP_EQ_OQ));
                if (hits) {
                    max = x[j + __builtin_ctz((unsigned)hits)];
                    break;
                }
            }
            const float iscale = -127.0f / max;
            const __m256 scale = _mm256_set1_ps(iscale);
            const __m256 top = _mm256_set1_ps(127.0f), bottom = _mm256_set1_ps(-127.0f);
            for (int j = 0; j < QKK; j += 32) {
                __m256i q[4];
                for (int k = 0; k < 4; k++) {
                    __m256 r = _mm256_round_ps(_mm256_mul_ps(scale, _mm256_loadu_ps(x + j + 8 * k)),
                                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
                    r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q));  // NaN -> +0
                    q[k] = _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(r, bottom), top));
                }
                for (int g = 0; g < 2; g++) {
                    const int16_t sum = (int16_t)hsum_i32(_mm256_add_epi32(q[2 * g], q[2 * g + 1]));
                    memcpy(b + Q8K_BSUMS + 2 * (j / 16 + g), &sum, 2);
                }
                // packs interleave 128-bit lanes; the permute restores element order.
                __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
                bytes = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
                _mm256_storeu_si256((__m256i *)(b + Q8K_QS + j), bytes);
            }
            d = 1.0f / iscale;
        }
        memcpy(b + Q8K_D, &d, 4);
    }
}
#endif
