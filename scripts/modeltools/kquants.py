"""Deterministic numpy encoders for ggml's K-quant types (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K).

gguf-py can dequantize the K types but not quantize them. These encoders write
the exact block layouts of llama.cpp's ggml-common.h (super-blocks of 256
values, fp16 super-block scales, 4- or 6-bit packed sub-block scales). The
choice of scales is a plain min/max (asymmetric types) or max-magnitude
(symmetric types) rule, not llama.cpp's error-minimising search
(make_qkx2_quants / make_qx_quants): the files are valid K-quant files whose
quality is somewhat below what llama-quantize would produce. Q2_K alone refines its
sub-block scales and mins with a few alternating least-squares steps (float64, fixed-order sums).

Determinism: only elementwise IEEE arithmetic (exactly rounded on every numpy
build), exact reductions (max/min/abs) and round-half-to-even (np.rint); the
only sums (Q2_K's least squares) are float64 elementwise adds in a fixed order,
never numpy's reductions, whose order depends on the build; no transcendental
functions. The same input gives the same bytes.

Each `quantize_*` takes float32 rows of shape (n_rows, n_cols) with
n_cols % 256 == 0 and returns uint8 of shape (n_rows, n_cols / 256 * type_size),
ready for GGUFWriter.add_tensor(..., raw_dtype=...).
"""
import numpy as np

QK_K = 256
F32 = np.float32


def _blocks(rows, sub):
    rows = np.ascontiguousarray(rows, dtype=F32)
    assert rows.ndim == 2 and rows.shape[1] % QK_K == 0, rows.shape
    return rows.reshape(-1, QK_K // sub, sub), rows.shape[0]


def _fp16(x):
    """Round to fp16; returns (the fp16 bytes, the rounded value as float32)."""
    h = x.astype(np.float16)
    return h.view(np.uint8).reshape(x.shape[0], 2), h.astype(F32)


def _div(a, b):
    """a / b elementwise, 0 where b == 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, F32(0), a / np.where(b == 0, F32(1), b)).astype(F32)


def _rint_clip(x, lo, hi):
    return np.clip(np.rint(x), lo, hi)


def _ordered_sum(a):
    """Sum over the last axis in a fixed left-to-right order (elementwise adds only: reproducible everywhere)."""
    acc = a[..., 0].copy()
    for j in range(1, a.shape[-1]):
        acc = acc + a[..., j]
    return acc


def _refine_affine(x, scale, mins, nmax, iterations):
    """Alternating least squares for y = scale*q - mins: round q for the current (scale, mins), then the
    (scale, mins >= 0) that minimise the squared error for those q, in float64 with fixed-order sums.
    Each step can only lower the error; the result is rounded to float32 explicitly."""
    n = x.shape[-1]
    xd = x.astype(np.float64)
    sx = _ordered_sum(xd)
    for _ in range(iterations):
        q = _rint_clip(_div(x + mins[..., None], scale[..., None]), 0, nmax).astype(np.float64)
        sq, sqq, sqx = _ordered_sum(q), _ordered_sum(q * q), _ordered_sum(q * xd)
        den = n * sqq - sq * sq
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(den > 0, (n * sqx - sq * sx) / np.where(den > 0, den, 1), 0.0)
            m = (d * sq - sx) / n
            d0 = np.where(sqq > 0, sqx / np.where(sqq > 0, sqq, 1), 0.0)   # best d with m = 0
        d, m = np.where(m < 0, d0, d), np.where(m < 0, 0.0, m)
        ok = d > 0
        scale = np.where(ok, d, scale).astype(F32)
        mins = np.where(ok, m, mins).astype(F32)
    return scale, mins


def _affine(x, nmax, scale_max, refine=0):
    """Asymmetric sub-block quantization y = d*sc*q - dmin*m (Q2_K, Q4_K, Q5_K).

    x: (n, n_sub, sub). Sub-block scale and min start from the min/max rule and take
    `refine` least-squares steps. Returns fp16 bytes of d and dmin, the sub-block scales
    sc and mins m (integers 0..scale_max) and the quants q (0..nmax), all (n, ...).
    """
    lo = np.minimum(x.min(axis=-1), F32(0))               # (n, n_sub) <= 0
    hi = x.max(axis=-1)
    scale = ((hi - lo) / F32(nmax)).astype(F32)           # >= 0
    mins = (-lo).astype(F32)                              # >= 0
    if refine:
        scale, mins = _refine_affine(x, scale, mins, nmax, refine)
    d_bytes, d = _fp16(scale.max(axis=-1) / F32(scale_max))
    m_bytes, dmin = _fp16(mins.max(axis=-1) / F32(scale_max))
    sc = _rint_clip(_div(scale, d[:, None]), 0, scale_max)
    m = _rint_clip(_div(mins, dmin[:, None]), 0, scale_max)
    dl = (d[:, None] * sc.astype(F32))[..., None]         # (n, n_sub, 1)
    ml = (dmin[:, None] * m.astype(F32))[..., None]
    q = _rint_clip(_div(x + ml, dl), 0, nmax)
    return d_bytes, m_bytes, sc.astype(np.uint8), m.astype(np.uint8), q.astype(np.uint8)


def _symmetric(x, nneg, npos, scale_neg, scale_pos):
    """Symmetric sub-block quantization y = d*sc*q (Q3_K, Q6_K), q in -nneg..npos.

    Like Q4_0: the value of largest magnitude maps to -nneg. Returns fp16 bytes
    of d, signed sub-block scales sc (-scale_neg..scale_pos) and signed quants q.
    """
    idx = np.abs(x).argmax(axis=-1)[..., None]
    extreme = np.take_along_axis(x, idx, axis=-1)[..., 0]     # (n, n_sub), signed
    scale = (extreme / F32(-nneg)).astype(F32)
    sidx = np.abs(scale).argmax(axis=-1)[:, None]
    sext = np.take_along_axis(scale, sidx, axis=-1)[:, 0]
    d_bytes, d = _fp16(sext / F32(-scale_neg))
    sc = _rint_clip(_div(scale, d[:, None]), -scale_neg, scale_pos)
    dl = (d[:, None] * sc.astype(F32))[..., None]
    q = _rint_clip(_div(x, dl), -nneg, npos)
    return d_bytes, sc.astype(np.int16), q.astype(np.int16)


def _pack_2bit_128(q):
    """q: (n, 256) values 0..3 -> (n, 64) bytes: byte h*32+l holds q[h*128 + s*32 + l] at bits 2s."""
    q = q.reshape(-1, 2, 4, 32).astype(np.uint8)
    return (q[:, :, 0] | (q[:, :, 1] << 2) | (q[:, :, 2] << 4) | (q[:, :, 3] << 6)).reshape(-1, 64)


def _pack_bits_32(bits):
    """bits: (n, 256) values 0/1 -> (n, 32) bytes: bit b of byte l is bits[b*32 + l]."""
    b = bits.reshape(-1, 8, 32).astype(np.uint8)
    out = np.zeros((b.shape[0], 32), dtype=np.uint8)
    for i in range(8):
        out |= b[:, i] << np.uint8(i)
    return out


def _pack_nibbles_64(q):
    """q: (n, 256) values 0..15 -> (n, 128): byte g*32+l holds q[(2g)*32+l] low, q[(2g+1)*32+l] high."""
    q = q.reshape(-1, 4, 2, 32).astype(np.uint8)
    return (q[:, :, 0] | (q[:, :, 1] << 4)).reshape(-1, 128)


def _pack_scales_k4(sc, m):
    """Eight 6-bit scales and mins -> the 12 bytes of Q4_K/Q5_K (get_scale_min_k4 in ggml)."""
    sc = sc.astype(np.uint8)
    m = m.astype(np.uint8)
    out = np.empty((sc.shape[0], 12), dtype=np.uint8)
    out[:, 0:4] = (sc[:, 0:4] & 0x3F) | ((sc[:, 4:8] >> 4) << 6)
    out[:, 4:8] = (m[:, 0:4] & 0x3F) | ((m[:, 4:8] >> 4) << 6)
    out[:, 8:12] = (sc[:, 4:8] & 0x0F) | ((m[:, 4:8] & 0x0F) << 4)
    return out


# Least-squares steps for Q2_K's sub-block scales (2-bit quants are too coarse for plain min/max).
Q2_K_REFINE = 4


def quantize_q2_k(rows):
    """block_q2_K: scales[16] (low nibble scale, high nibble min), qs[64], d, dmin (84 bytes)."""
    x, n_rows = _blocks(rows, 16)
    d, dmin, sc, m, q = _affine(x, 3, 15, refine=Q2_K_REFINE)
    scales = (sc & 0x0F) | (m << 4)
    out = np.concatenate([scales, _pack_2bit_128(q.reshape(-1, QK_K)), d, dmin], axis=1)
    return out.reshape(n_rows, -1)


def quantize_q3_k(rows):
    """block_q3_K: hmask[32], qs[64], scales[12] (16 6-bit scales, offset 32), d (110 bytes)."""
    x, n_rows = _blocks(rows, 16)
    d, sc, q = _symmetric(x, 4, 3, 32, 31)
    u = (q + 4).astype(np.uint8).reshape(-1, QK_K)          # 0..7; high bit set means "no -4"
    s = (sc + 32).astype(np.uint8)                           # (n, 16), 0..63
    scales = np.empty((s.shape[0], 12), dtype=np.uint8)
    scales[:, 0:8] = (s[:, 0:8] & 0x0F) | ((s[:, 8:16] & 0x0F) << 4)
    hi = (s >> 4).reshape(-1, 4, 4)                           # [j, k] -> scale j*4+k
    scales[:, 8:12] = hi[:, 0] | (hi[:, 1] << 2) | (hi[:, 2] << 4) | (hi[:, 3] << 6)
    out = np.concatenate([_pack_bits_32(u >> 2), _pack_2bit_128(u & 3), scales, d], axis=1)
    return out.reshape(n_rows, -1)


def quantize_q4_k(rows):
    """block_q4_K: d, dmin, scales[12], qs[128] (144 bytes)."""
    x, n_rows = _blocks(rows, 32)
    d, dmin, sc, m, q = _affine(x, 15, 63)
    out = np.concatenate([d, dmin, _pack_scales_k4(sc, m), _pack_nibbles_64(q.reshape(-1, QK_K))], axis=1)
    return out.reshape(n_rows, -1)


def quantize_q5_k(rows):
    """block_q5_K: d, dmin, scales[12], qh[32], qs[128] (176 bytes)."""
    x, n_rows = _blocks(rows, 32)
    d, dmin, sc, m, q = _affine(x, 31, 63)
    q = q.reshape(-1, QK_K)
    out = np.concatenate([d, dmin, _pack_scales_k4(sc, m), _pack_bits_32(q >> 4),
                          _pack_nibbles_64(q & 0x0F)], axis=1)
    return out.reshape(n_rows, -1)


def quantize_q6_k(rows):
    """block_q6_K: ql[128], qh[64], scales[16] (int8), d (210 bytes)."""
    x, n_rows = _blocks(rows, 16)
    d, sc, q = _symmetric(x, 32, 31, 128, 127)
    u = (q + 32).astype(np.uint8).reshape(-1, 2, 128)        # [g, r], 0..63
    lo = (u & 0x0F).reshape(-1, 2, 2, 64)                     # [g, h, l]: ql[g*64+l] nibble h
    ql = (lo[:, :, 0] | (lo[:, :, 1] << 4)).reshape(-1, 128)
    hi = (u >> 4).reshape(-1, 2, 4, 32)                       # [g, s, l]: qh[g*32+l] bits 2s
    qh = (hi[:, :, 0] | (hi[:, :, 1] << 2) | (hi[:, :, 2] << 4) | (hi[:, :, 3] << 6)).reshape(-1, 64)
    scales = sc.astype(np.int8).view(np.uint8)
    out = np.concatenate([ql, qh, scales, d], axis=1)
    return out.reshape(n_rows, -1)


ENCODERS = {"Q2_K": quantize_q2_k, "Q3_K": quantize_q3_k, "Q4_K": quantize_q4_k, "Q5_K": quantize_q5_k,
            "Q6_K": quantize_q6_k}
# Largest acceptable relative RMS error of dequantize(quantize(x)) on self_test's data, per type
# (seen: 0.024, 0.063, 0.014, 0.007, 0.009; on Gaussian data 0.27, 0.16, 0.08, 0.04, 0.02).
SELF_TEST_RMS = {"Q2_K": 0.08, "Q3_K": 0.10, "Q4_K": 0.03, "Q5_K": 0.015, "Q6_K": 0.015}


def self_test():
    """Round trip through gguf-py's dequantizers: the layouts must decode to the values encoded.
    Returns a list of (type, relative RMS error); raises AssertionError on a failure."""
    import gguf
    x = (np.linspace(-1, 1, 64 * 1536, dtype=F32).reshape(64, 1536) ** 3).astype(F32)
    x = x[np.argsort(np.sin(np.arange(64)))][:, np.argsort(np.cos(np.arange(1536) * 7.0))]  # shuffle
    x[3, :] = 0                     # an all-zero row
    x[4, :256] = -0.01              # a constant negative super-block
    x[5, :32] = 1000                # an outlier sub-block
    results = []
    for name, encode in ENCODERS.items():
        qtype = gguf.GGMLQuantizationType[name]
        blob = encode(x)
        assert blob.dtype == np.uint8 and blob.shape == (64, 1536 // QK_K * gguf.GGML_QUANT_SIZES[qtype][1]), name
        y = gguf.dequantize(blob, qtype)
        assert np.all(y[3] == 0), name
        rows = np.arange(64) != 5
        rms = float(np.sqrt(np.mean(np.square((y - x)[rows], dtype=np.float64)) /
                            np.mean(np.square(x[rows], dtype=np.float64))))
        assert rms < SELF_TEST_RMS[name], f"{name}: relative RMS error {rms:.3f}"
        assert np.allclose(y[5, :32], 1000, rtol=0.02), name
        assert np.array_equal(encode(x), blob), f"{name}: not deterministic"
        results.append((name, rms))
    return results
