// Q8_0 quantization, matching llama.cpp's block layout and its activation quantization
// (scale = max|x| / 127 stored as half precision, values rounded to nearest even).
#include "shard_kernels.h"

#include <math.h>
#include <string.h>

void shard_quantize_row_q8_0(const float *source, void *blocks, int64_t count) {
    uint8_t *out = (uint8_t *)blocks;
    for (int64_t block = 0; block < count / SHARD_Q8_0_BLOCK; block++) {
        const float *x = source + block * SHARD_Q8_0_BLOCK;
        float amax = 0.0f;
        for (int i = 0; i < SHARD_Q8_0_BLOCK; i++) {
            float a = fabsf(x[i]);
            if (a > amax) amax = a;
        }
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        uint16_t scale = shard_f32_to_f16(d);
        uint8_t *b = out + block * SHARD_Q8_0_BYTES;
        memcpy(b, &scale, 2);
        for (int i = 0; i < SHARD_Q8_0_BLOCK; i++) {
            b[2 + i] = (uint8_t)(int8_t)nearbyintf(x[i] * id);
        }
    }
}

void shard_dequantize_row_q8_0(const void *blocks, float *destination, int64_t count) {
    const uint8_t *in = (const uint8_t *)blocks;
    for (int64_t block = 0; block < count / SHARD_Q8_0_BLOCK; block++) {
        const uint8_t *b = in + block * SHARD_Q8_0_BYTES;
        uint16_t bits;
        memcpy(&bits, b, 2);
        const float d = shard_f16_to_f32(bits);
        for (int i = 0; i < SHARD_Q8_0_BLOCK; i++) {
            destination[block * SHARD_Q8_0_BLOCK + i] = (float)(int8_t)b[2 + i] * d;
        }
    }
}
