"""NumPy reference of kiln's L-Mul numerics (dialects/Kiln/LMulNumerics.h).

Vectorized over uint32 bit patterns of float32 arrays, step for step the
same as the C++ reference and the compiled kernels, so results compare
bit for bit. Formats: fp32, bf16, fp16, e4m3 (OCP e4m3fn, max 448), e5m2.
"""

import numpy as np

FORMATS = {  # name: (exponent bits, mantissa bits, finite-only)
    "fp32": (8, 23, False),
    "bf16": (8, 7, False),
    "fp16": (5, 10, False),
    "e4m3": (4, 3, True),
    "e5m2": (5, 2, False),
}

SIGN, ABS, INF, NAN = 0x80000000, 0x7FFFFFFF, 0x7F800000, 0x7FC00000


def offset_exponent(k):
    """The paper's l(k): 2^-l(k) replaces x_m * y_m."""
    return k if k <= 3 else (3 if k == 4 else 4)


class Params:
    def __init__(self, fmt="fp32", mantissa=0, rounding="nearest"):
        e, m, finite_only = FORMATS[fmt]
        k = mantissa or m
        assert 1 <= k <= m, (fmt, mantissa)
        self.fmt, self.k, self.rounding = fmt, k, rounding
        self.offset = (127 << 23) - (1 << (23 - offset_exponent(k)))
        bias = (1 << (e - 1)) - 1
        max_exp = (1 << e) - (1 if finite_only else 2) - bias
        self.min_normal = (1 - bias + 127) << 23
        field = (1 << m) - 1 - (1 if finite_only else 0)
        self.drop = (1 << (23 - k)) - 1 if k < 23 else 0
        mant = (field << (23 - m)) & ~self.drop
        self.max_finite = ((max_exp + 127) << 23) | mant

    def attr(self):
        return (f'#kiln.lmul<format = "{self.fmt}", mantissa = {self.k}, '
                f'rounding = "{self.rounding}">')


def _u32(x):
    return np.ascontiguousarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)


def prepare(a, p):
    """Round |x| bits to k mantissa bits, saturate, flush to zero (uint64)."""
    if p.k < 23:
        shift = 23 - p.k
        if p.rounding == "nearest":
            a = a + ((1 << (shift - 1)) - 1) + ((a >> shift) & 1)
        a = a & (0xFFFFFFFF & ~p.drop)
    a = np.minimum(a, p.max_finite)
    return np.where(a < p.min_normal, 0, a)


def lmul(x, y, p):
    """Elementwise L-Mul of float32 arrays (broadcasting), float32 result."""
    ux, uy = np.broadcast_arrays(_u32(x), _u32(y))
    sign = (ux ^ uy) & SIGN
    ax, ay = ux & ABS, uy & ABS
    a, b = prepare(ax, p), prepare(ay, p)
    t = a + b
    zero = (a == 0) | (b == 0)
    mag = np.where(zero | (t < p.offset + p.min_normal), 0,
                   np.where(t > p.offset + p.max_finite, p.max_finite,
                            t - p.offset))
    nan = (ax > INF) | (ay > INF) | ((ax == INF) & (b == 0)) | ((ay == INF) & (a == 0))
    inf = (ax == INF) | (ay == INF)
    mag = np.where(nan, NAN, np.where(inf, INF, mag))
    return (mag | sign).astype(np.uint32).view(np.float32)


def lmul_matmul(a, b, p):
    """[.., M, K] x [.., K, N] with L-Mul products, accumulated in float32
    sequentially over K (the order of kiln's generated loops)."""
    prod = lmul(a[..., :, :, None], b[..., None, :, :], p)  # [.., M, K, N]
    acc = np.zeros(prod.shape[:-2] + prod.shape[-1:], dtype=np.float32)
    for k in range(prod.shape[-2]):
        acc = (acc + prod[..., k, :]).astype(np.float32)
    return acc


def decode(code, e, m):
    """Value of a (1, e, m) code (subnormals included)."""
    bias = (1 << (e - 1)) - 1
    s = -1.0 if (code >> (e + m)) & 1 else 1.0
    E, M = (code >> m) & ((1 << e) - 1), code & ((1 << m) - 1)
    if E == 0:
        return s * M / 2**m * 2.0**(1 - bias)
    return s * (1 + M / 2**m) * 2.0**(E - bias)
