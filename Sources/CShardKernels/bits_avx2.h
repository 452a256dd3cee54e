// Unpacking of the 32-value quant blocks, shared by the AVX2 kernels (quants_avx2.c, quants_rows_avx2.c) and the
// AVX-512 VNNI ones (quants_rows_vnni.c: their target includes AVX2, so these inline there too).
#ifndef SHARD_BITS_AVX2_H
#define SHARD_BITS_AVX2_H

#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

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
#endif

#endif
