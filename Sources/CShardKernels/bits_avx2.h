// Unpacking of quant blocks into bytes in value order, shared by the single-row AVX2 kernels (quants_avx2.c,
// kquants_avx2.c), the multi-row ones (quants_rows_avx2.c, kquants_rows_avx2.c) and the AVX-512 VNNI ones
// (quants_rows_vnni.c: their target includes AVX2, so these inline there too).
#ifndef SHARD_BITS_AVX2_H
#define SHARD_BITS_AVX2_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "quant_internal.h"

#define BITS_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))

/// 16 bytes of nibbles to 32 bytes in value order: low nibbles (values 0..15), then high nibbles (16..31).
BITS_AVX2_INLINE __m256i nibbles_32(const uint8_t *qs) {
    const __m128i raw = _mm_loadu_si128((const __m128i *)qs);
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(raw, 4), raw);
    return _mm256_and_si256(both, _mm256_set1_epi8(0x0F));
}

/// 0xFF in byte i where bit i of the little-endian 32 bits at `qh` is set, else 0.
BITS_AVX2_INLINE __m256i bit_mask_32(const uint8_t *qh) {
    uint32_t bits;
    memcpy(&bits, qh, 4);
    // Byte i gets byte i / 8 of `bits`, then keeps only bit i % 8.
    const __m256i spread = _mm256_shuffle_epi8(
        _mm256_set1_epi32((int)bits),
        _mm256_setr_epi64x(0x0000000000000000, 0x0101010101010101, 0x0202020202020202, 0x0303030303030303));
    const __m256i select = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    return _mm256_cmpeq_epi8(_mm256_and_si256(spread, select), select);
}
/// Chunks 2c and 2c + 1 (32 values each) of a Q4_K or Q5_K block: the low and high nibbles of the 32 bytes at
/// `qs + 32c`, with Q5_K's fifth bits (bits 2c and 2c + 1 of the 32 bytes `high`) as 16.
BITS_AVX2_INLINE void q45_k_chunks(const uint8_t *qs, __m256i high, int has_high, int c, __m256i *lo, __m256i *hi) {
    const __m256i low_mask = _mm256_set1_epi8(0x0F), sixteen = _mm256_set1_epi8(16);
    const __m256i bits = _mm256_loadu_si256((const __m256i *)(qs + 32 * c));
    *lo = _mm256_and_si256(bits, low_mask);
    *hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), low_mask);
    if (has_high) {
        const __m256i bit_lo = _mm256_set1_epi8((char)(1 << (2 * c)));
        const __m256i bit_hi = _mm256_set1_epi8((char)(1 << (2 * c + 1)));
        *lo = _mm256_or_si256(*lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(high, bit_lo), bit_lo), sixteen));
        *hi = _mm256_or_si256(*hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(high, bit_hi), bit_hi), sixteen));
    }
}

/// The 8 chunks of a Q6_K block as unsigned 6-bit quants (0..63), chunk 4h + c.
BITS_AVX2_INLINE void q6_k_chunks(const uint8_t *wb, __m256i q[8]) {
    const __m256i low_mask = _mm256_set1_epi8(0x0F), two_bits = _mm256_set1_epi8(3);
    for (int h = 0; h < 2; h++) {
        const __m256i qa = _mm256_loadu_si256((const __m256i *)(wb + Q6K_QL + 64 * h));
        const __m256i qb = _mm256_loadu_si256((const __m256i *)(wb + Q6K_QL + 64 * h + 32));
        const __m256i qh = _mm256_loadu_si256((const __m256i *)(wb + Q6K_QH + 32 * h));
        const __m256i lows[4] = {
            _mm256_and_si256(qa, low_mask), _mm256_and_si256(qb, low_mask),
            _mm256_and_si256(_mm256_srli_epi16(qa, 4), low_mask), _mm256_and_si256(_mm256_srli_epi16(qb, 4), low_mask)};
        for (int c = 0; c < 4; c++) {
            const __m256i top = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * c), two_bits);
            q[4 * h + c] = _mm256_or_si256(lows[c], _mm256_slli_epi16(top, 4));
        }
    }
}
#endif

#endif
