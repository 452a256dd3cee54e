// Batch-invariant matrix products: every output element is one dot product computed in a fixed order,
// independent of how many input rows are in the batch and of which output rows a call covers.
//
// Canonical order of one output element Y[b][o] = dot(W[o], X[b]) on the vector path:
//
//   F32:  acc (8 lanes) = 0; for k in steps of 8: acc = fma(W[o][k..k+8], X[b][k..k+8], acc);
//         s = hsum8(acc) (fixed tree, see `hsum8`); for each remaining k: s = fma(W[o][k], X[b][k], s).
//   Q8_0: acc (8 lanes) = 0; for each block k in order:
//           d   = f32(W[o].d[k]) * f32(X[b].d[k])                      (one rounded float product)
//           q   = int32x8(madd_epi16(maddubs(|w|, sign(x, w)), 1))     (exact integer sums of 4 products)
//           acc = fma(d, float(q), acc);
//         s = hsum8(acc).
//
// The kernels compute tiles of several output rows x several batch rows at once (independent memory streams
// and register reuse of loaded weights), but each accumulator still sees exactly the sequence above, so the
// tile shape never changes a result. The integer part of Q8_0 is exact, so computing it with AVX-512 VNNI
// (`dpbusd`) instead of `maddubs` + `madd` gives the same bits (no int16 saturation can occur: |w| <= 128 and
// |x| <= 127, so a pair sum is at most 32512).
//
// The portable scalar path (machines without AVX2/FMA/F16C) uses its own fixed order for F32; for Q8_0 it
// computes the same lanes one at a time (quants.c) and gives the same bits as the vector paths.
#include "shard_kernels.h"
#include "quant_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SHARD_X86 1
#endif

// MARK: scalar reference paths (fixed order: 8 interleaved partial sums, combined pairwise)

static float dot_f32_scalar(const float *a, const float *b, int64_t n) {
    float acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) acc[j] += a[i + j] * b[i + j];
    float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) sum += a[i] * b[i];
    return sum;
}

/// The portable Q8_0 product (quants.c), which reproduces the vector paths' per-element order bit for bit.
static float dot_q8_0_scalar(const uint8_t *w, const uint8_t *x, int64_t blocks) {
    return shard_dot_q8_0_scalar(w, x, blocks);
}

static void matmul_f32_scalar(const float *weights, int64_t n_in, const float *input, int64_t batch, float *output,
                              int64_t ldy, int64_t row_begin, int64_t row_end) {
    for (int64_t o = row_begin; o < row_end; o++)
        for (int64_t b = 0; b < batch; b++)
            output[b * ldy + o] = dot_f32_scalar(weights + o * n_in, input + b * n_in, n_in);
}

static void matmul_q8_0_scalar(const uint8_t *weights, int64_t blocks, const uint8_t *input, int64_t batch,
                               float *output, int64_t ldy, int64_t row_begin, int64_t row_end) {
    const int64_t row_bytes = blocks * SHARD_Q8_0_BYTES;
    for (int64_t o = row_begin; o < row_end; o++)
        for (int64_t b = 0; b < batch; b++)
            output[b * ldy + o] = dot_q8_0_scalar(weights + o * row_bytes, input + b * row_bytes, blocks);
}

#ifdef SHARD_X86
// MARK: AVX2 + FMA + F16C paths

#define SHARD_AVX2 __attribute__((target("avx2,fma,f16c")))
#define SHARD_AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma,f16c")))
// The same code with AVX-512 VL/VNNI available: 32 vector registers (larger tiles) and `dpbusd`.
// Only instruction encodings and register counts differ; every operation is the same lane-wise operation.
#define SHARD_AVX512 __attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni")))

/// Largest tiles: output rows x batch rows computed together.
#define TILE_MAX_ROWS 4
#define TILE_MAX_BATCH 4

/// The fixed horizontal sum of 8 lanes: (l0+l4, l1+l5, l2+l6, l3+l7) -> (+ upper pair) -> (+ odd lane).
SHARD_AVX2_INLINE float hsum8(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/// How far past the next tile the weight prefetch runs, in bytes.
#define PREFETCH_SLACK 2048

/// Prefetches `bytes` bytes from `p` into L1, a line at a time.
/// The kernels walk the R rows of a tile as R short interleaved streams, which the hardware prefetchers follow
/// poorly; the tiles themselves are contiguous and visited in order, so the next tile is fetched ahead linearly.
SHARD_AVX2_INLINE void prefetch_span(const void *p, int64_t bytes) {
    for (int64_t j = 0; j < bytes; j += 64) _mm_prefetch((const char *)p + j, _MM_HINT_T0);
}

// MARK: F32

/// Y[b][r] for r < R, b < B over one tile: `w` is the first weight row (rows `n` apart), `x` the first batch
/// row (rows `n` apart), `y` the output for (r = 0, b = 0) (batch rows `ldy` apart).
/// Called with constant R and B so the accumulators stay in registers. `prefetch`: fetch the next tile's weights.
SHARD_AVX2_INLINE void f32_tile(const float *w, const float *x, int64_t n, float *y, int64_t ldy, int R, int B,
                                 int prefetch) {
    __m256 acc[TILE_MAX_ROWS][TILE_MAX_BATCH];
    for (int r = 0; r < R; r++)
        for (int b = 0; b < B; b++) acc[r][b] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= n; k += 8) {
        if (prefetch) prefetch_span((const char *)(w + R * n + R * k) + PREFETCH_SLACK, R * 8 * sizeof(float));
        __m256 wv[TILE_MAX_ROWS];
        for (int r = 0; r < R; r++) wv[r] = _mm256_loadu_ps(w + r * n + k);
        for (int b = 0; b < B; b++) {
            const __m256 xv = _mm256_loadu_ps(x + b * n + k);
            for (int r = 0; r < R; r++) acc[r][b] = _mm256_fmadd_ps(wv[r], xv, acc[r][b]);
        }
    }
    for (int r = 0; r < R; r++)
        for (int b = 0; b < B; b++) {
            float s = hsum8(acc[r][b]);
            for (int64_t t = k; t < n; t++) s = fmaf(w[r * n + t], x[b * n + t], s);
            y[b * ldy + r] = s;
        }
}

/// Runs a tile of R weight rows over all batch rows: tiles of B batch rows, then smaller ones (4, 2, 1).
/// Only the first pass prefetches; later passes find the tile's weights in L1.
#define F32_ROW_TILE(R, B)                                                                                      \
    do {                                                                                                        \
        const float *w = weights + o * n_in;                                                                    \
        int64_t b = 0;                                                                                          \
        for (; b + (B) <= batch; b += (B))                                                                      \
            f32_tile(w, input + b * n_in, n_in, output + b * ldy + o, ldy, R, B, b == 0);                       \
        if ((B) > 4 && b + 4 <= batch) {                                                                        \
            f32_tile(w, input + b * n_in, n_in, output + b * ldy + o, ldy, R, 4, b == 0);                       \
            b += 4;                                                                                             \
        }                                                                                                       \
        if ((B) > 2 && b + 2 <= batch) {                                                                        \
            f32_tile(w, input + b * n_in, n_in, output + b * ldy + o, ldy, R, 2, b == 0);                       \
            b += 2;                                                                                             \
        }                                                                                                       \
        if (b < batch) f32_tile(w, input + b * n_in, n_in, output + b * ldy + o, ldy, R, 1, b == 0);            \
    } while (0)

/// Tiles of 4 weight rows (4 independent accumulator chains; each activation load feeds 4 rows) by 2 batch rows,
/// or 4 where 32 vector registers exist. The linear prefetch keeps the 4 interleaved row streams fed.
SHARD_AVX2 static void matmul_f32_avx2(const float *weights, int64_t n_in, const float *input, int64_t batch,
                                       float *output, int64_t ldy, int64_t row_begin, int64_t row_end) {
    int64_t o = row_begin;
    for (; o + 4 <= row_end; o += 4) F32_ROW_TILE(4, 2);
    for (; o < row_end; o++) F32_ROW_TILE(1, 2);
}

SHARD_AVX512 static void matmul_f32_avx512(const float *weights, int64_t n_in, const float *input, int64_t batch,
                                           float *output, int64_t ldy, int64_t row_begin, int64_t row_end) {
    int64_t o = row_begin;
    for (; o + 4 <= row_end; o += 4) F32_ROW_TILE(4, 4);
    for (; o < row_end; o++) F32_ROW_TILE(1, 4);
}

// MARK: Q8_0

/// The half-precision scale at the start of a Q8_0 block, as a float (exact).
SHARD_AVX2_INLINE float q8_scale(const uint8_t *block) {
    uint16_t bits;
    memcpy(&bits, block, 2);
    return _cvtsh_ss(bits);
}

/// The same scale broadcast to 8 lanes (broadcast the half, then convert all lanes). Unlike `set1(_cvtsh_ss())`,
/// which compilers lower to an insert into whatever register is free (possibly an accumulator, a false
/// dependency that serializes the loop), this writes a whole register.
SHARD_AVX2_INLINE __m256 q8_scale_x8(const uint8_t *block) {
    uint16_t bits;
    memcpy(&bits, block, 2);
    return _mm256_cvtph_ps(_mm_set1_epi16((short)bits));
}

// The integer part of a block product, per lane i: q[i] = sum of w[4i + j] * x[4i + j] for j < 4 (exact).
// Each instruction set computes it in three steps: `ROW` once per weight block (shared by the tile's batch rows),
// `X` once per activation block (shared by the tile's weight rows), `DOT` once per pair.

/// AVX2: |w| * sign(x, w) with maddubs (unsigned x signed bytes), widened to int32 with madd.
SHARD_AVX2_INLINE __m256i q8_row_avx2(__m256i w) { return _mm256_sign_epi8(w, w); }
SHARD_AVX2_INLINE __m256i q8_x_avx2(__m256i x) { return x; }
SHARD_AVX2_INLINE __m256i q8_dot_avx2(__m256i w, __m256i abs_w, __m256i x) {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(abs_w, _mm256_sign_epi8(x, w)), _mm256_set1_epi16(1));
}

/// AVX-512 VNNI: dpbusd multiplies unsigned by signed bytes, so x is offset to x + 128 (unsigned) and the
/// accumulation starts from -128 * sum(w): (x + 128) . w - 128 * sum(w) = x . w, exactly.
#define SHARD_VNNI_INLINE static inline __attribute__((always_inline, target("avx2,avx512f,avx512vl,avx512vnni")))
SHARD_VNNI_INLINE __m256i q8_row_vnni(__m256i w) {
    const __m256i sum128 = _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_set1_epi8((char)0x80), w);
    return _mm256_sub_epi32(_mm256_setzero_si256(), sum128);
}
SHARD_VNNI_INLINE __m256i q8_x_vnni(__m256i x) { return _mm256_xor_si256(x, _mm256_set1_epi8((char)0x80)); }
SHARD_VNNI_INLINE __m256i q8_dot_vnni(__m256i w, __m256i minus_128_sum_w, __m256i x_plus_128) {
    return _mm256_dpbusd_epi32(minus_128_sum_w, x_plus_128, w);
}

/// Defines `NAME(w, x, xs, blocks, y, ldy, R, B, prefetch)`: a Q8_0 tile of R weight rows x B batch rows with
/// the integer steps `ISA` (avx2 or vnni). `w` and `x` point at the first row of each (rows `blocks * 34` bytes
/// apart); `xs` holds the activation scales as floats (`blocks` per batch row); `y` is the output for
/// (r = 0, b = 0), batch rows `ldy` apart. `prefetch`: fetch the next tile's weights.
#define DEFINE_Q8_TILE(NAME, TARGET, ISA)                                                                       \
    static inline __attribute__((always_inline, target(TARGET))) void NAME(                                     \
        const uint8_t *w, const uint8_t *x, const float *xs, int64_t blocks, float *y, int64_t ldy, int R,      \
        int B, int prefetch) {                                                                                  \
        const int64_t row_bytes = blocks * SHARD_Q8_0_BYTES;                                                    \
        __m256 acc[TILE_MAX_ROWS][TILE_MAX_BATCH];                                                              \
        for (int r = 0; r < R; r++)                                                                             \
            for (int b = 0; b < B; b++) acc[r][b] = _mm256_setzero_ps();                                        \
        for (int64_t k = 0; k < blocks; k++) {                                                                  \
            if (prefetch)                                                                                       \
                prefetch_span(w + R * (row_bytes + k * SHARD_Q8_0_BYTES) + PREFETCH_SLACK, R * SHARD_Q8_0_BYTES); \
            __m256i wq[TILE_MAX_ROWS], wrow[TILE_MAX_ROWS];                                                     \
            __m256 wd[TILE_MAX_ROWS];                                                                           \
            for (int r = 0; r < R; r++) {                                                                       \
                const uint8_t *wb = w + r * row_bytes + k * SHARD_Q8_0_BYTES;                                   \
                wd[r] = q8_scale_x8(wb);                                                                        \
                wq[r] = _mm256_loadu_si256((const __m256i *)(wb + 2));                                          \
                wrow[r] = q8_row_##ISA(wq[r]);                                                                  \
            }                                                                                                   \
            for (int b = 0; b < B; b++) {                                                                       \
                const uint8_t *xb = x + b * row_bytes + k * SHARD_Q8_0_BYTES;                                   \
                const __m256i xq = q8_x_##ISA(_mm256_loadu_si256((const __m256i *)(xb + 2)));                   \
                const __m256 xd = _mm256_broadcast_ss(xs + b * blocks + k);                                     \
                for (int r = 0; r < R; r++) {                                                                   \
                    const __m256i q = q8_dot_##ISA(wq[r], wrow[r], xq);                                         \
                    acc[r][b] = _mm256_fmadd_ps(_mm256_mul_ps(wd[r], xd), _mm256_cvtepi32_ps(q), acc[r][b]);   \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
        for (int r = 0; r < R; r++)                                                                             \
            for (int b = 0; b < B; b++) y[b * ldy + r] = hsum8(acc[r][b]);                                      \
    }

DEFINE_Q8_TILE(q8_tile_avx2, "avx2,fma,f16c", avx2)
DEFINE_Q8_TILE(q8_tile_vnni, "avx2,fma,f16c,avx512f,avx512vl,avx512bw,avx512vnni", vnni)

/// Runs a tile of R weight rows over all batch rows: tiles of B (2 or 4) batch rows, then smaller ones.
/// Only the first pass prefetches; later passes find the tile's weights in L1.
#define Q8_ROW_TILE(TILE, R, B)                                                                                 \
    do {                                                                                                        \
        const uint8_t *w = weights + o * row_bytes;                                                             \
        int64_t b = 0;                                                                                          \
        for (; b + (B) <= batch; b += (B))                                                                      \
            TILE(w, input + b * row_bytes, scales + b * blocks, blocks, output + b * ldy + o, ldy, R, B, b == 0); \
        if ((B) > 2 && b + 2 <= batch) {                                                                        \
            TILE(w, input + b * row_bytes, scales + b * blocks, blocks, output + b * ldy + o, ldy, R, 2, b == 0); \
            b += 2;                                                                                             \
        }                                                                                                       \
        if (b < batch)                                                                                          \
            TILE(w, input + b * row_bytes, scales + b * blocks, blocks, output + b * ldy + o, ldy, R, 1, b == 0); \
    } while (0)

SHARD_AVX2 static void matmul_q8_0_avx2(const uint8_t *weights, int64_t blocks, const uint8_t *input,
                                        const float *scales, int64_t batch, float *output, int64_t ldy,
                                        int64_t row_begin, int64_t row_end) {
    const int64_t row_bytes = blocks * SHARD_Q8_0_BYTES;
    int64_t o = row_begin;
    for (; o + 4 <= row_end; o += 4) Q8_ROW_TILE(q8_tile_avx2, 4, 2);
    for (; o < row_end; o++) Q8_ROW_TILE(q8_tile_avx2, 1, 2);
}

SHARD_AVX512 static void matmul_q8_0_avx512(const uint8_t *weights, int64_t blocks, const uint8_t *input,
                                            const float *scales, int64_t batch, float *output, int64_t ldy,
                                            int64_t row_begin, int64_t row_end) {
    const int64_t row_bytes = blocks * SHARD_Q8_0_BYTES;
    int64_t o = row_begin;
    for (; o + 4 <= row_end; o += 4) Q8_ROW_TILE(q8_tile_vnni, 4, 4);
    for (; o < row_end; o++) Q8_ROW_TILE(q8_tile_vnni, 1, 4);
}

/// Converts the half-precision scales of `count` Q8_0 blocks to floats (exact).
SHARD_AVX2 static void q8_scales_f16c(const uint8_t *blocks, float *scales, int64_t count) {
    for (int64_t k = 0; k < count; k++) scales[k] = q8_scale(blocks + k * SHARD_Q8_0_BYTES);
}

enum { PATH_SCALAR = 0, PATH_AVX2 = 1, PATH_AVX512 = 2 };

/// The vector path this machine uses, chosen once.
static int simd_path(void) {
    static int cached = -1;
    if (cached < 0) {
        int path = PATH_SCALAR;
        if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) {
            path = PATH_AVX2;
            if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
                __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni"))
                path = PATH_AVX512;
        }
        cached = path;
    }
    return cached;
}
#else
enum { PATH_SCALAR = 0 };
static int simd_path(void) { return PATH_SCALAR; }
#endif

void shard_matmul_f32(const float *weights, int64_t n_in, const float *input, int64_t batch, float *output,
                      int64_t ldy, int64_t row_begin, int64_t row_end) {
    switch (simd_path()) {
#ifdef SHARD_X86
    case PATH_AVX512: matmul_f32_avx512(weights, n_in, input, batch, output, ldy, row_begin, row_end); return;
    case PATH_AVX2: matmul_f32_avx2(weights, n_in, input, batch, output, ldy, row_begin, row_end); return;
#endif
    default: matmul_f32_scalar(weights, n_in, input, batch, output, ldy, row_begin, row_end); return;
    }
}

void shard_matmul_q8_0(const void *weights, int64_t n_in, const void *input_blocks, int64_t batch, float *output,
                       int64_t ldy, int64_t row_begin, int64_t row_end) {
    const int64_t blocks = n_in / SHARD_Q8_0_BLOCK;
    const uint8_t *w = (const uint8_t *)weights, *x = (const uint8_t *)input_blocks;
    const int path = simd_path();
#ifdef SHARD_X86
    if (path != PATH_SCALAR && batch > 0 && row_end > row_begin) {
        // Activation scales converted once per call rather than once per output row.
        float stack_scales[1024];
        const int64_t count = batch * blocks;
        float *scales = count <= 1024 ? stack_scales : (float *)malloc((size_t)count * sizeof(float));
        if (!scales) abort();  // never silently switch to the scalar path: its results differ
        q8_scales_f16c(x, scales, count);
        if (path == PATH_AVX512)
            matmul_q8_0_avx512(w, blocks, x, scales, batch, output, ldy, row_begin, row_end);
        else
            matmul_q8_0_avx2(w, blocks, x, scales, batch, output, ldy, row_begin, row_end);
        if (scales != stack_scales) free(scales);
        return;
    }
#endif
    if (path == PATH_SCALAR) matmul_q8_0_scalar(w, blocks, x, batch, output, ldy, row_begin, row_end);
}
