// Runtime dispatch for scalar code written with fmaf: the package is compiled without -mfma (it must build as a
// dependency), so a plain fmaf is a libm call. A copy compiled with target("fma") turns each fmaf into one
// instruction; both give the same bits (an fma rounds once either way).
#ifndef SHARD_FMA_DISPATCH_H
#define SHARD_FMA_DISPATCH_H

#include <math.h>
#include <stdint.h>

#define SHARD_INLINE static inline __attribute__((always_inline))

/// Whether this CPU executes fma instructions (checked once).
static inline int shard_cpu_has_fma(void) {
    static int cached = -1;
    if (cached < 0) cached = __builtin_cpu_supports("fma") ? 1 : 0;
    return cached;
}

/// Defines `void NAME PARAMS` running `NAME##_body ARGS`, compiled twice: with fma instructions and without.
#define SHARD_FMA_VOID(NAME, PARAMS, ARGS)                                                                   \
    __attribute__((target("fma"))) static void NAME##_fma PARAMS { NAME##_body ARGS; }                     \
    static void NAME##_generic PARAMS { NAME##_body ARGS; }                                                  \
    void NAME PARAMS {                                                                                       \
        if (shard_cpu_has_fma()) { NAME##_fma ARGS; } else { NAME##_generic ARGS; }                          \
    }

/// `x * 2^n` for |n| <= 192 in two exact steps, rounding once at most (as ldexpf, without a libm call).
SHARD_INLINE float shard_scale_by_power_of_two(float x, int n) {
    const int n1 = n / 2, n2 = n - n1;
    union { uint32_t bits; float value; } a = { (uint32_t)(n1 + 127) << 23 }, b = { (uint32_t)(n2 + 127) << 23 };
    return (x * a.value) * b.value;
}

/// exp(x) as ggml's vectorized `ggml_v_expf` (llama.cpp's x86 AVX-512 build): see `shard_expf_ggml`.
SHARD_INLINE float shard_expf_ggml_inline(float x) {
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    if (fabsf(n) > 192.0f) return n <= 0.0f ? 0.0f : INFINITY;
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         fmaf(0x1.ffffecp-1f, b, 1.0f));
    return shard_scale_by_power_of_two(j, (int)n);
}

#endif
