// AVX2 + FMA + F16C dot products of the K block types (Q2_K ... Q6_K) against Q8_K activations.
//
// Per 256-value block, the quants are unpacked 32 at a time into bytes in value order, multiplied with the
// activation bytes by maddubs (unsigned x signed, or |w| x sign-adjusted x for signed Q3_K quants; no int16
// saturation at these magnitudes), and the int16 pair sums multiplied by the group scales and widened by madd.
// The int32 lanes are summed exactly, so the block's integers equal those of the portable path (kquants.c);
// the float steps are the same two fmas: s = fma(d * x.d, sumi, s); s = fma(-(dmin * x.d), summ, s).
// Q6_K quants are used unsigned (0..63) and the -32 offset comes back as -32 * sum(scale * bsums).
#include "quant_internal.h"

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

/// The exact sum of 4 int32 lanes.
AVX2_INLINE int32_t hsum_i32x4(__m128i s) {
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

AVX2_INLINE float half_f32(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _mm_cvtss_f32(_mm_cvtph_ps(_mm_cvtsi32_si128(bits)));  // not _cvtsh_ss: see quants_avx2.c
}

AVX2_INLINE __m256i load32(const uint8_t *p) { return _mm256_loadu_si256((const __m256i *)p); }

/// Scaled int32 lane sums of one chunk: unsigned quants (< 64) times activations, times the group scales.
AVX2_INLINE __m256i chunk_unsigned(__m256i q, const uint8_t *x, __m256i scales) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, load32(x)), scales);
}

/// The same for signed quants (|q| <= 4).
AVX2_INLINE __m256i chunk_signed(__m256i q, const uint8_t *x, __m256i scales) {
    const __m256i products = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(load32(x), q));
    return _mm256_madd_epi16(products, scales);
}

/// From 8 int16 scales repeated in both 128-bit halves: scale `first` in the low half (values 0..15 of a chunk)
/// and scale `first + 1` in the high half (values 16..31), for the types with a scale per 16 values.
AVX2_INLINE __m256i scale_pair(__m256i scales, int first) {
    const short lo = (short)((2 * first) | (2 * first + 1) << 8), hi = (short)((2 * first + 2) | (2 * first + 3) << 8);
    return _mm256_shuffle_epi8(scales, _mm256_set_m128i(_mm_set1_epi16(hi), _mm_set1_epi16(lo)));
}

/// From 8 int16 scales repeated in both halves: scale `index` in every lane (a scale per 32 values).
AVX2_INLINE __m256i scale_all(__m256i scales, int index) {
    return _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((2 * index) | (2 * index + 1) << 8)));
}

/// The 8 scales of half `h` (groups 8h .. 8h+7) of 16 int16 scales, repeated in both 128-bit halves.
AVX2_INLINE __m256i half_scales(__m256i scales16, int h) {
    return h == 0 ? _mm256_permute2x128_si256(scales16, scales16, 0x00)
                  : _mm256_permute2x128_si256(scales16, scales16, 0x11);
}

/// The 16 activation group sums of a Q8_K block as int16 lanes.
AVX2_INLINE __m256i bsums16(const uint8_t *xb) { return load32(xb + Q8K_BSUMS); }

/// s = fma(d * x.d, sumi, s), then with mins s = fma(-(dmin * x.d), summ, s): the order of kquants.c.
AVX2_INLINE float combine(float s, float wd, float wdmin, int has_mins, const uint8_t *xb, int32_t sumi,
                          int32_t summ) {
    float xd;
    memcpy(&xd, xb + Q8K_D, 4);
    const float d = wd * xd;
    s = fmaf(d, (float)sumi, s);
    if (has_mins) {
        const float dmin = wdmin * xd;
        s = fmaf(-dmin, (float)summ, s);
    }
    return s;
}

AVX2_FN float shard_dot_q2_k_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    (void)xs;
    const __m256i three = _mm256_set1_epi8(3);
    const __m128i low_mask = _mm_set1_epi8(0x0F);
    float s = 0.0f;
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q2_K, *xb = x + n * BYTES_Q8_K;
        const uint8_t *xq = xb + Q8K_QS;
        const __m128i packed = _mm_loadu_si128((const __m128i *)(wb + Q2K_SCALES));
        const __m256i scales16 = _mm256_cvtepu8_epi16(_mm_and_si128(packed, low_mask));
        const __m256i mins16 = _mm256_cvtepu8_epi16(_mm_and_si128(_mm_srli_epi16(packed, 4), low_mask));
        const int32_t summ = hsum_i32(_mm256_madd_epi16(mins16, bsums16(xb)));
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i bits = load32(wb + Q2K_QS + 32 * h);
            const __m256i scales = half_scales(scales16, h);
            for (int t = 0; t < 4; t++) {
                const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * t), three);
                acc = _mm256_add_epi32(acc, chunk_unsigned(q, xq + 128 * h + 32 * t, scale_pair(scales, 2 * t)));
            }
        }
        s = combine(s, half_f32(wb + Q2K_D), half_f32(wb + Q2K_DMIN), 1, xb, hsum_i32(acc), summ);
    }
    return s;
}

/// The 16 signed scales of a Q3_K block (6 bits each, offset by 32) as int16 lanes, the same values as
/// `q3k_scales`: low nibbles from bytes 0-7 (groups 0-7 low, 8-15 high nibbles), two high bits from bytes 8-11.
AVX2_INLINE __m256i q3k_scales16(const uint8_t *packed) {
    uint64_t low;
    uint32_t high;
    memcpy(&low, packed, 8);
    memcpy(&high, packed + 8, 4);
    const uint64_t nibbles = 0x0F0F0F0F0F0F0F0FULL, pairs = 0x03030303U;
    const uint64_t high_lo = (uint64_t)(high & pairs) | (uint64_t)((high >> 2) & pairs) << 32;
    const uint64_t high_hi = (uint64_t)((high >> 4) & pairs) | (uint64_t)((high >> 6) & pairs) << 32;
    const uint64_t first = (low & nibbles) | high_lo << 4, second = ((low >> 4) & nibbles) | high_hi << 4;
    const __m128i unsigned_scales = _mm_set_epi64x((long long)second, (long long)first);
    return _mm256_cvtepi8_epi16(_mm_sub_epi8(unsigned_scales, _mm_set1_epi8(32)));
}

AVX2_FN float shard_dot_q3_k_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    (void)xs;
    const __m256i three = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
    float s = 0.0f;
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q3_K, *xb = x + n * BYTES_Q8_K;
        const uint8_t *xq = xb + Q8K_QS;
        const __m256i scales16 = q3k_scales16(wb + Q3K_SCALES);
        const __m256i hmask = load32(wb + Q3K_HMASK);
        __m256i acc = _mm256_setzero_si256();
        for (int h = 0; h < 2; h++) {
            const __m256i bits = load32(wb + Q3K_QS + 32 * h);
            const __m256i scales = half_scales(scales16, h);
            for (int t = 0; t < 4; t++) {
                const __m256i bit = _mm256_set1_epi8((char)(1 << (4 * h + t)));
                const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hmask, bit), bit);
                const __m256i low = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * t), three);
                const __m256i q = _mm256_sub_epi8(low, _mm256_andnot_si256(set, four));
                acc = _mm256_add_epi32(acc, chunk_signed(q, xq + 128 * h + 32 * t, scale_pair(scales, 2 * t)));
            }
        }
        s = combine(s, half_f32(wb + Q3K_D), 0.0f, 0, xb, hsum_i32(acc), 0);
    }
    return s;
}

/// The 8 scales (bytes 0-7) and 8 mins (bytes 8-15) of a Q4_K/Q5_K block, the values of `kquant_scales_mins`:
/// sub-blocks 0-3 keep the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); sub-blocks 4-7 take a nibble of
/// bytes 8-11 and the top two bits of bytes 0-3 or 4-7.
AVX2_INLINE __m128i q45k_scales_mins(const uint8_t *packed) {
    uint32_t a, b, c;
    memcpy(&a, packed, 4);
    memcpy(&b, packed + 4, 4);
    memcpy(&c, packed + 8, 4);
    const uint32_t six = 0x3F3F3F3FU, nibble = 0x0F0F0F0FU, two = 0x03030303U;
    const uint32_t scales_hi = (c & nibble) | ((a >> 6) & two) << 4;
    const uint32_t mins_hi = ((c >> 4) & nibble) | ((b >> 6) & two) << 4;
    return _mm_setr_epi32((int)(a & six), (int)scales_hi, (int)(b & six), (int)mins_hi);
}

/// Q4_K and Q5_K (`has_high`: Q5_K's fifth bits at `Q5K_QH`).
AVX2_INLINE float dot_q45_k(const uint8_t *w, const uint8_t *x, int64_t blocks, int has_high) {
    const __m256i low_mask = _mm256_set1_epi8(0x0F), sixteen = _mm256_set1_epi8(16);
    const int64_t bytes = has_high ? BYTES_Q5_K : BYTES_Q4_K;
    const int qs_offset = has_high ? Q5K_QS : Q4K_QS;
    float s = 0.0f;
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * bytes, *xb = x + n * BYTES_Q8_K;
        const uint8_t *xq = xb + Q8K_QS;
        const __m128i scales_mins = q45k_scales_mins(wb + Q4K_SCALES);
        const __m256i scales = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scales_mins));
        const __m128i mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(scales_mins, scales_mins));
        const __m256i bsums = bsums16(xb);
        const __m128i pair_sums = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
        const __m128i products = _mm_madd_epi16(mins, pair_sums);
        const int32_t summ = hsum_i32x4(products);
        const __m256i high = has_high ? load32(wb + Q5K_QH) : _mm256_setzero_si256();
        __m256i acc = _mm256_setzero_si256();
        for (int c = 0; c < 4; c++) {
            const __m256i bits = load32(wb + qs_offset + 32 * c);
            __m256i lo = _mm256_and_si256(bits, low_mask);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low_mask);
            if (has_high) {
                const __m256i bit_lo = _mm256_set1_epi8((char)(1 << (2 * c)));
                const __m256i bit_hi = _mm256_set1_epi8((char)(1 << (2 * c + 1)));
                lo = _mm256_or_si256(lo, _mm256_and_si256(
                    _mm256_cmpeq_epi8(_mm256_and_si256(high, bit_lo), bit_lo), sixteen));
                hi = _mm256_or_si256(hi, _mm256_and_si256(
                    _mm256_cmpeq_epi8(_mm256_and_si256(high, bit_hi), bit_hi), sixteen));
            }
            const __m256i pl = chunk_unsigned(lo, xq + 64 * c, scale_all(scales, 2 * c));
            const __m256i ph = chunk_unsigned(hi, xq + 64 * c + 32, scale_all(scales, 2 * c + 1));
            acc = _mm256_add_epi32(acc, _mm256_add_epi32(pl, ph));
        }
        s = combine(s, half_f32(wb), half_f32(wb + 2), 1, xb, hsum_i32(acc), summ);
    }
    return s;
}

AVX2_FN float shard_dot_q4_k_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    (void)xs;
    return dot_q45_k(w, x, blocks, 0);
}

AVX2_FN float shard_dot_q5_k_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    (void)xs;
    return dot_q45_k(w, x, blocks, 1);
}

AVX2_FN float shard_dot_q6_k_avx2(const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks) {
    (void)xs;
    const __m256i low_mask = _mm256_set1_epi8(0x0F), two_bits = _mm256_set1_epi8(3);
    float s = 0.0f;
    for (int64_t n = 0; n < blocks; n++) {
        const uint8_t *wb = w + n * BYTES_Q6_K, *xb = x + n * BYTES_Q8_K;
        const uint8_t *xq = xb + Q8K_QS;
        const __m256i scales16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(wb + Q6K_SCALES)));
        // The quants are used unsigned: start from -32 * sum(scale * bsums).
        __m256i acc = _mm256_sub_epi32(_mm256_setzero_si256(),
                                       _mm256_slli_epi32(_mm256_madd_epi16(scales16, bsums16(xb)), 5));
        for (int h = 0; h < 2; h++) {
            const __m256i qa = load32(wb + Q6K_QL + 64 * h), qb = load32(wb + Q6K_QL + 64 * h + 32);
            const __m256i qh = load32(wb + Q6K_QH + 32 * h);
            const __m256i scales = half_scales(scales16, h);
            const __m256i lows[4] = {
                _mm256_and_si256(qa, low_mask), _mm256_and_si256(qb, low_mask),
                _mm256_and_si256(_mm256_srli_epi16(qa, 4), low_mask),
                _mm256_and_si256(_mm256_srli_epi16(qb, 4), low_mask)};
            for (int c = 0; c < 4; c++) {
                const __m256i top = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), two_bits);
                const __m256i q = _mm256_or_si256(lows[c], _mm256_slli_epi16(top, 4));
                acc = _mm256_add_epi32(acc, chunk_unsigned(q, xq + 128 * h + 32 * c, scale_pair(scales, 2 * c)));
            }
        }
        s = combine(s, half_f32(wb + Q6K_D), 0.0f, 0, xb, hsum_i32(acc), 0);
    }
    return s;
}
#endif
