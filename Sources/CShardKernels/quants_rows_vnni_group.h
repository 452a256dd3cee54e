// The group kernel of quants_rows_vnni.c for VW (8 or 16) activation rows in the lanes of one vector (256 or 512
// bits), included once per width. Defines `rows_8` or `rows_16`.
#if VW == 8
#define VI __m256i
#define VF __m256
#define VX(op) _mm256_##op
#define VZERO_I _mm256_setzero_si256()
#define VNAME(name) name##_8
#else
#define VI __m512i
#define VF __m512
#define VX(op) _mm512_##op
#define VZERO_I _mm512_setzero_si512()
#define VNAME(name) name##_16
#endif

/// One group's activations, rows in lanes (see the top of quants_rows_vnni.c), carved from `memory`.
typedef struct {
    VI *xq;        // [k * 8 + l]: lane r = bytes 4l ... 4l + 3 of block k of row r
    VI *start;     // [k * 8 + l]: lane r = -offset * (sum of those bytes); Q4_0: [k], the sum over l
    float *d, *s;  // [k * VW + r]: f32(x.d); f32(x.s) for Q8_1
    uint8_t *u;    // [32 k ...]: the unsigned weights of the current weight row
} VNAME(prepared);

VNNI_INLINE VNAME(prepared) VNAME(prepare)(const uint8_t *x, int64_t x_row, int count, int64_t blocks,
                                           uint8_t *memory, const int type) {
    const int has_s = type == SHARD_TYPE_Q4_1 || type == SHARD_TYPE_Q5_1;
    const int offset = type == SHARD_TYPE_Q4_0 ? 8 : type == SHARD_TYPE_Q5_0 ? 16 : 0;
    const int64_t x_bytes = has_s ? BYTES_Q8_1 : BYTES_Q8_0;
    const int x_qs = has_s ? 4 : 2;
    VNAME(prepared) p;
    p.xq = (VI *)memory;
    p.start = p.xq + blocks * 8;
    p.d = (float *)(p.start + blocks * 8);
    p.s = p.d + blocks * VW;
    p.u = (uint8_t *)(p.s + blocks * VW);
    const uint8_t *rows[VW];
    for (int r = 0; r < VW; r++) rows[r] = x + (r < count ? r : 0) * x_row;
    for (int64_t k = 0; k < blocks; k++) {
        uint8_t *tile = (uint8_t *)(p.xq + k * 8);
        for (int r = 0; r < VW; r++) {
            const uint8_t *xb = rows[r] + k * x_bytes;
            p.d[k * VW + r] = half_value(xb);
            if (has_s) p.s[k * VW + r] = half_value(xb + 2);
        }
        // Rows 8h ... 8h + 7 to lanes 8h ... 8h + 7 of the block's 8 vectors.
        for (int h = 0; h < VW / 8; h++) {
            __m256i v[8], t[8];
            for (int r = 0; r < 8; r++)
                v[r] = _mm256_loadu_si256((const __m256i *)(rows[8 * h + r] + k * x_bytes + x_qs));
            transpose_8x8(v, t);
            for (int l = 0; l < 8; l++) _mm256_storeu_si256((__m256i *)(tile + sizeof(VI) * l + 32 * h), t[l]);
        }
        VI total = VZERO_I;
        for (int l = 0; l < 8; l++) {
            const VI sums = VX(dpbusd_epi32)(VZERO_I, VX(set1_epi32)(0x01010101), p.xq[k * 8 + l]);
            const VI start = VX(mullo_epi32)(sums, VX(set1_epi32)(-offset));
            if (type == SHARD_TYPE_Q4_0)
                total = VX(add_epi32)(total, start);
            else
                p.start[k * 8 + l] = start;
        }
        if (type == SHARD_TYPE_Q4_0) p.start[k] = total;
    }
    return p;
}

/// Output o of the group's `count` rows: the single-row kernel's float steps, lane r for row r.
VNNI_INLINE void VNAME(output)(const uint8_t *wrow, int count, int64_t blocks, const VNAME(prepared) *p, float *y,
                               int64_t ldy, int64_t o, const int type) {
    const int has_s = type == SHARD_TYPE_Q4_1 || type == SHARD_TYPE_Q5_1;
    const int64_t w_bytes = type == SHARD_TYPE_Q4_0 ? BYTES_Q4_0 : type == SHARD_TYPE_Q5_0 ? BYTES_Q5_0
                          : type == SHARD_TYPE_Q4_1 ? BYTES_Q4_1 : BYTES_Q5_1;
    // The row's unsigned weights first, then read back 4 bytes (one lane's) at a time as broadcasts.
    for (int64_t k = 0; k < blocks; k++)
        _mm256_storeu_si256((__m256i *)(p->u + 32 * k), unsigned_weights(wrow + k * w_bytes, type));
    VF lanes[8], s = VX(setzero_ps)(), offsets = VX(setzero_ps)();
    for (int l = 0; l < 8; l++) lanes[l] = VX(setzero_ps)();
    for (int64_t k = 0; k < blocks; k++) {
        const uint8_t *wb = wrow + k * w_bytes;
        // Lane r: w.d * x.d of row r, the product its single-row kernel forms.
        const VF d = VX(mul_ps)(VX(set1_ps)(half_value(wb)), VX(loadu_ps)(p->d + k * VW));
        int32_t wq[8];
        memcpy(wq, p->u + 32 * k, 32);
        if (type == SHARD_TYPE_Q4_0) {
            // s = fma(float(sum of the 32 products), w.d * x.d, s).
            VI q = p->start[k];
            for (int l = 0; l < 8; l++) q = VX(dpbusd_epi32)(q, VX(set1_epi32)(wq[l]), p->xq[k * 8 + l]);
            s = VX(fmadd_ps)(VX(cvtepi32_ps)(q), d, s);
        } else {
            // lane l = fma(d, float(sum of values 4l ... 4l + 3), lane l).
            for (int l = 0; l < 8; l++) {
                const VI q = VX(dpbusd_epi32)(p->start[k * 8 + l], VX(set1_epi32)(wq[l]), p->xq[k * 8 + l]);
                lanes[l] = VX(fmadd_ps)(d, VX(cvtepi32_ps)(q), lanes[l]);
            }
            if (has_s)
                offsets = VX(fmadd_ps)(VX(set1_ps)(half_value(wb + 2)), VX(loadu_ps)(p->s + k * VW), offsets);
        }
    }
    VF value = s;
    if (type != SHARD_TYPE_Q4_0) {
        // The single-row kernel's horizontal sum, ((l0 + l4) + (l2 + l6)) + ((l1 + l5) + (l3 + l7)), per lane.
        const VF a = VX(add_ps)(VX(add_ps)(lanes[0], lanes[4]), VX(add_ps)(lanes[2], lanes[6]));
        const VF b = VX(add_ps)(VX(add_ps)(lanes[1], lanes[5]), VX(add_ps)(lanes[3], lanes[7]));
        value = VX(add_ps)(a, b);
        if (has_s) value = VX(add_ps)(value, offsets);
    }
    float out[VW];
    VX(storeu_ps)(out, value);
    for (int r = 0; r < count; r++) y[r * ldy + o] = out[r];
}

/// Outputs [row_begin, row_end) of the `count` (at most VW) activation rows at x.
VNNI_INLINE void VNAME(rows)(const uint8_t *w, int64_t w_row, const uint8_t *x, int64_t x_row, int count,
                             int64_t blocks, uint8_t *memory, float *y, int64_t ldy, int64_t row_begin,
                             int64_t row_end, const int type) {
    const VNAME(prepared) p = VNAME(prepare)(x, x_row, count, blocks, memory, type);
    for (int64_t o = row_begin; o < row_end; o++) VNAME(output)(w + o * w_row, count, blocks, &p, y, ldy, o, type);
}

#undef VI
#undef VF
#undef VX
#undef VZERO_I
#undef VNAME
