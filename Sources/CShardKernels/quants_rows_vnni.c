// Multi-row products of Q4_0, Q4_1, Q5_0 and Q5_1 on AVX-512 VNNI machines (256-bit registers), with the bits of the
// single-row AVX2 kernels of quants_avx2.c.
//
// The integers: every weight value is used unsigned, u = q + 8 (Q4_0), q + 16 (Q5_0), or q itself (Q4_1, Q5_1), so
// that one dpbusd gives each int32 lane the sum over its 4 values of u * x, starting from -offset * (sum of those 4
// activation bytes): exactly the lane sums of q * x the AVX2 kernels form with maddubs and madd. The starting
// values, the activation scales as floats (and Q8_1's s) are prepared once per group of 8 activation rows and
// reused for every weight row. The float steps per row are those of the single-row kernels, in the same order.
#include "quant_internal.h"
#include "bits_avx2.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <math.h>
#include <stdlib.h>

#define VNNI_TARGET "avx2,fma,f16c,avx512f,avx512vl,avx512vnni"
#define VNNI_FN __attribute__((target(VNNI_TARGET)))
#define VNNI_INLINE static inline __attribute__((always_inline, target(VNNI_TARGET)))

/// Activation rows per group.
#define GROUP 8

/// One group's activations, block k of row r at [k * GROUP + r].
typedef struct {
    __m256i *start;  // -offset * lane sums of the activation bytes (0 for Q4_1, Q5_1)
    float *d, *s;    // f32(x.d); f32(x.s) for Q8_1
} prepared;

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

VNNI_INLINE void prepare(const uint8_t *x, int64_t x_row, int count, int64_t blocks, const int type,
                         prepared *p) {
    const int has_s = type == SHARD_TYPE_Q4_1 || type == SHARD_TYPE_Q5_1;
    const int offset = type == SHARD_TYPE_Q4_0 ? 8 : type == SHARD_TYPE_Q5_0 ? 16 : 0;
    const int64_t x_bytes = has_s ? BYTES_Q8_1 : BYTES_Q8_0;
    const int x_qs = has_s ? 4 : 2;
    for (int r = 0; r < GROUP; r++) {
        const uint8_t *row = x + (r < count ? r : 0) * x_row;
        for (int64_t k = 0; k < blocks; k++) {
            const uint8_t *xb = row + k * x_bytes;
            const __m256i xq = _mm256_loadu_si256((const __m256i *)(xb + x_qs));
            const __m256i sums = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8(1), xq);
            p->start[k * GROUP + r] = _mm256_mullo_epi32(sums, _mm256_set1_epi32(-offset));
            p->d[k * GROUP + r] = half_value(xb);
            if (has_s) p->s[k * GROUP + r] = half_value(xb + 2);
        }
    }
}

/// Outputs [row_begin, row_end) of one group of `count` activation rows.
VNNI_INLINE void group_rows(const uint8_t *w, int64_t w_row, const uint8_t *x, int64_t x_row, int count,
                            int64_t blocks, const prepared *p, float *y, int64_t ldy, int64_t row_begin,
                            int64_t row_end, const int type) {
    const int has_s = type == SHARD_TYPE_Q4_1 || type == SHARD_TYPE_Q5_1;
    const int64_t w_bytes = type == SHARD_TYPE_Q4_0 ? BYTES_Q4_0 : type == SHARD_TYPE_Q5_0 ? BYTES_Q5_0
                          : type == SHARD_TYPE_Q4_1 ? BYTES_Q4_1 : BYTES_Q5_1;
    const int64_t x_bytes = has_s ? BYTES_Q8_1 : BYTES_Q8_0;
    const int x_qs = has_s ? 4 : 2;
    const uint8_t *xr[GROUP];
    for (int r = 0; r < GROUP; r++) xr[r] = x + (r < count ? r : 0) * x_row + x_qs;
    for (int64_t o = row_begin; o < row_end; o++) {
        const uint8_t *wrow = w + o * w_row;
        __m256 lanes[GROUP];
        float s[GROUP], offsets[GROUP];
        for (int r = 0; r < GROUP; r++) {
            lanes[r] = _mm256_setzero_ps();
            s[r] = offsets[r] = 0.0f;
        }
        for (int64_t k = 0; k < blocks; k++) {
            const uint8_t *wb = wrow + k * w_bytes;
            const __m256i u = unsigned_weights(wb, type);
            __m256i q[GROUP];
            for (int r = 0; r < GROUP; r++)
                q[r] = _mm256_dpbusd_epi32(p->start[k * GROUP + r], u,
                                           _mm256_loadu_si256((const __m256i *)(xr[r] + k * x_bytes)));
            if (type == SHARD_TYPE_Q4_0) {
                // s = fma(float(sum of the 32 products), w.d * x.d, s), per row.
                const __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(q[0], q[1]), _mm256_hadd_epi32(q[2], q[3]));
                const __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(q[4], q[5]), _mm256_hadd_epi32(q[6], q[7]));
                const __m256i sums = _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                                                      _mm256_permute2x128_si256(a, b, 0x31));
                const __m256 d = _mm256_mul_ps(_mm256_set1_ps(half_value(wb)), _mm256_loadu_ps(p->d + k * GROUP));
                const __m256 chain = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sums), d, _mm256_loadu_ps(s));
                _mm256_storeu_ps(s, chain);
            } else {
                const float wd = half_value(wb);
                for (int r = 0; r < GROUP; r++) {
                    const __m256 d = _mm256_set1_ps(wd * p->d[k * GROUP + r]);
                    lanes[r] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(q[r]), lanes[r]);
                }
                if (has_s) {
                    const __m256 chain = _mm256_fmadd_ps(_mm256_set1_ps(half_value(wb + 2)),
                                                         _mm256_loadu_ps(p->s + k * GROUP), _mm256_loadu_ps(offsets));
                    _mm256_storeu_ps(offsets, chain);
                }
            }
        }
        for (int r = 0; r < count; r++) {
            float value = s[r];
            if (type != SHARD_TYPE_Q4_0) {
                __m128 lo = _mm_add_ps(_mm256_castps256_ps128(lanes[r]), _mm256_extractf128_ps(lanes[r], 1));
                lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
                lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
                value = has_s ? _mm_cvtss_f32(lo) + offsets[r] : _mm_cvtss_f32(lo);
            }
            y[r * ldy + o] = value;
        }
    }
}

/// The groups of one weight type: batch rows in groups of 8 (the last 3 ... 7); returns the rows done.
VNNI_INLINE int64_t matmul_rows(const uint8_t *w, int64_t w_row, const uint8_t *x, int64_t x_row, int64_t batch,
                                int64_t blocks, float *y, int64_t ldy, int64_t row_begin, int64_t row_end,
                                const int type) {
    enum { STACK_BLOCKS = 64 };
    __m256i start_stack[STACK_BLOCKS * GROUP];
    float d_stack[STACK_BLOCKS * GROUP], s_stack[STACK_BLOCKS * GROUP];
    prepared p = {start_stack, d_stack, s_stack};
    void *heap = 0;
    if (blocks > STACK_BLOCKS) {
        heap = aligned_alloc(32, (size_t)blocks * GROUP * (sizeof(__m256i) + 2 * sizeof(float)));
        if (!heap) abort();  // never silently take another path
        p.start = (__m256i *)heap;
        p.d = (float *)(p.start + blocks * GROUP);
        p.s = p.d + blocks * GROUP;
    }
    int64_t b = 0;
    while (batch - b >= 3) {
        const int count = batch - b < GROUP ? (int)(batch - b) : GROUP;
        prepare(x + b * x_row, x_row, count, blocks, type, &p);
        group_rows(w, w_row, x + b * x_row, x_row, count, blocks, &p, y + b * ldy, ldy, row_begin, row_end, type);
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
