// Multi-row products of Q4_0, Q4_1, Q5_0 and Q5_1 on AVX-512 VNNI machines (256-bit registers), with the bits of the
// single-row AVX2 kernels of quants_avx2.c.
//
// The integers: every weight value is used unsigned, u = q + 8 (Q4_0), q + 16 (Q5_0), or q itself (Q4_1, Q5_1), so
// that one dpbusd gives an int32 lane the sum over 4 values of u * x, starting from -offset * (sum of those 4
// activation bytes): exactly a lane sum of q * x the AVX2 kernels form with maddubs and madd (lane l of a block sums
// its values 4l ... 4l + 3).
//
// Rows in lanes: a group of 16 activation rows (512-bit vectors; 8 rows, 256-bit, for the rest of a batch) is laid
// out once so that lane r of vector (block k, lane l) holds bytes 4l ... 4l + 3 of block k of row r. One dpbusd of
// that vector with the 4 weight bytes of lane l broadcast then gives lane l's sum for all the rows at once, and the
// float steps of the single-row kernel (d = w.d * x.d, lane l = fma(d, float(sum), lane l), then the fixed horizontal
// sum) run for the rows side by side with no broadcast per row: the products w.d * x.d are one multiply. Each row's
// float steps are those of its single-row kernel, in the same order, on its own values, whatever its group.
#include "quant_internal.h"
#include "bits_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#define VNNI_TARGET "avx2,fma,f16c,avx512f,avx512vl,avx512vnni"
#define VNNI_FN __attribute__((target(VNNI_TARGET)))
#define VNNI_INLINE static inline __attribute__((always_inline, target(VNNI_TARGET)))

VNNI_INLINE float half_value(const uint8_t *p) {
    uint16_t bits;
    memcpy(&bits, p, 2);
    return _cvtsh_ss(bits);
}

/// The unsigned weights of block `wb`: nibbles, with Q5_0/Q5_1's fifth bits as 16.
VNNI_INLINE __m256i unsigned_weights(const uint8_t *wb, const int type) {
    const __m256i sixteen = _mm256_set1_epi8(16);
    switch (type) {
    case SHARD_TYPE_Q4_0: return nibbles_32(wb + 2);
    case SHARD_TYPE_Q5_0: return _mm256_or_si256(nibbles_32(wb + 6), _mm256_and_si256(bit_mask_32(wb + 2), sixteen));
    case SHARD_TYPE_Q4_1: return nibbles_32(wb + 4);
    default: return _mm256_or_si256(nibbles_32(wb + 8), _mm256_and_si256(bit_mask_32(wb + 4), sixteen));
    }
}

/// An 8 x 8 transpose of dwords: lane r of t[l] = lane l of v[r].
VNNI_INLINE void transpose_8x8(const __m256i v[8], __m256i t[8]) {
    __m256i a[8], b[8];
    for (int i = 0; i < 4; i++) {
        a[2 * i] = _mm256_unpacklo_epi32(v[2 * i], v[2 * i + 1]);      // (v0 v1) of lanes 0 1 | 4 5
        a[2 * i + 1] = _mm256_unpackhi_epi32(v[2 * i], v[2 * i + 1]);  // (v0 v1) of lanes 2 3 | 6 7
    }
    for (int h = 0; h < 2; h++) {
        b[4 * h] = _mm256_unpacklo_epi64(a[4 * h], a[4 * h + 2]);          // lane 0 | 4 of 4 rows
        b[4 * h + 1] = _mm256_unpackhi_epi64(a[4 * h], a[4 * h + 2]);      // lane 1 | 5
        b[4 * h + 2] = _mm256_unpacklo_epi64(a[4 * h + 1], a[4 * h + 3]);  // lane 2 | 6
        b[4 * h + 3] = _mm256_unpackhi_epi64(a[4 * h + 1], a[4 * h + 3]);  // lane 3 | 7
    }
    for (int l = 0; l < 4; l++) {
        t[l] = _mm256_permute2x128_si256(b[l], b[4 + l], 0x20);
        t[4 + l] = _mm256_permute2x128_si256(b[l], b[4 + l], 0x31);
    }
}

// The group kernels for 8 rows (256-bit vectors) and 16 rows (512-bit vectors), from one template.
#define VW 8
#include "quants_rows_vnni_group.h"
#undef VW
#define VW 16
#include "quants_rows_vnni_group.h"
#undef VW

/// The groups of one weight type: batch rows in groups of 16 while 16 remain, then of 8 (the last 3 ... 7);
/// returns the rows done.
VNNI_INLINE int64_t matmul_rows(const uint8_t *w, int64_t w_row, const uint8_t *x, int64_t x_row, int64_t batch,
                                int64_t blocks, float *y, int64_t ldy, int64_t row_begin, int64_t row_end,
                                const int type) {
    // Per block, for 16 rows: 8 transposed vectors, 8 (or 1) starting vectors, 16 d and 16 s, 32 bytes of unpacked
    // weights (8 rows use part of it).
    enum { PER_BLOCK = 16 * 64 + 2 * 16 * 4 + 32, STACK_BLOCKS = 24 };
    _Alignas(64) uint8_t stack[STACK_BLOCKS * PER_BLOCK];
    uint8_t *memory = stack;
    void *heap = 0;
    if (blocks > STACK_BLOCKS) {
        heap = aligned_alloc(64, (size_t)blocks * PER_BLOCK);
        if (!heap) abort();  // never silently take another path
        memory = (uint8_t *)heap;
    }
    int64_t b = 0;
    while (batch - b >= 16) {
        rows_16(w, w_row, x + b * x_row, x_row, 16, blocks, memory, y + b * ldy, ldy, row_begin, row_end, type);
        b += 16;
    }
    while (batch - b >= 3) {
        const int count = batch - b < 8 ? (int)(batch - b) : 8;
        rows_8(w, w_row, x + b * x_row, x_row, count, blocks, memory, y + b * ldy, ldy, row_begin, row_end, type);
        b += count;
    }
    free(heap);
    return b;
}

VNNI_FN int64_t shard_matmul_rows32_vnni(int type, const uint8_t *w, int64_t w_row, const uint8_t *x, int64_t x_row,
                                         int64_t batch, int64_t blocks, float *y, int64_t ldy, int64_t row_begin,
                                         int64_t row_end) {
    switch (type) {
    case SHARD_TYPE_Q4_0:
        return matmul_rows(w, w_row, x, x_row, batch, blocks, y, ldy, row_begin, row_end, SHARD_TYPE_Q4_0);
    case SHARD_TYPE_Q5_0:
        return matmul_rows(w, w_row, x, x_row, batch, blocks, y, ldy, row_begin, row_end, SHARD_TYPE_Q5_0);
    case SHARD_TYPE_Q4_1:
        return matmul_rows(w, w_row, x, x_row, batch, blocks, y, ldy, row_begin, row_end, SHARD_TYPE_Q4_1);
    case SHARD_TYPE_Q5_1:
        return matmul_rows(w, w_row, x, x_row, batch, blocks, y, ldy, row_begin, row_end, SHARD_TYPE_Q5_1);
    default: return 0;
    }
}
#endif
