// Half-precision conversion (IEEE 754 binary16), exact and portable.
#include "shard_kernels.h"

#include <string.h>

static uint32_t float_bits(float value) { uint32_t bits; memcpy(&bits, &value, 4); return bits; }
static float bits_float(uint32_t bits) { float value; memcpy(&value, &bits, 4); return value; }

float shard_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exponent = (h >> 10) & 0x1F;
    uint32_t mantissa = h & 0x3FF;
    if (exponent == 0x1F) return bits_float(sign | 0x7F800000 | (mantissa << 13));
    if (exponent == 0) {
        if (mantissa == 0) return bits_float(sign);
        // Subnormal: value = mantissa * 2^-24.
        float value = (float)mantissa * (1.0f / 16777216.0f);
        return sign ? -value : value;
    }
    return bits_float(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t shard_f32_to_f16(float value) {
    uint32_t bits = float_bits(value);
    uint16_t sign = (uint16_t)((bits >> 16) & 0x8000);
    uint32_t magnitude = bits & 0x7FFFFFFF;
    if (magnitude >= 0x7F800000) return sign | 0x7C00 | (magnitude > 0x7F800000 ? 0x200 : 0);
    if (magnitude >= 0x477FF000) return sign | 0x7C00;  // rounds to infinity
    if (magnitude < 0x38800000) {                         // subnormal or zero in half precision
        if (magnitude < 0x33000000) return sign;
        uint32_t exponent = magnitude >> 23;
        uint32_t mantissa = (magnitude & 0x7FFFFF) | 0x800000;
        uint32_t shift = 126 - exponent;                   // 14 ... 24
        uint32_t half = mantissa >> shift;
        uint32_t remainder = mantissa & ((1u << shift) - 1);
        uint32_t midpoint = 1u << (shift - 1);
        if (remainder > midpoint || (remainder == midpoint && (half & 1))) half++;
        return sign | (uint16_t)half;
    }
    uint32_t half = ((magnitude >> 13) - (112u << 10));
    uint32_t remainder = magnitude & 0x1FFF;
    if (remainder > 0x1000 || (remainder == 0x1000 && (half & 1))) half++;
    return sign | (uint16_t)half;
}

void shard_f16_to_f32_row(const uint16_t *source, float *destination, int64_t count) {
    for (int64_t i = 0; i < count; i++) destination[i] = shard_f16_to_f32(source[i]);
}
