"""Winograd F(4x4, 3x3) kernels of the Numba backend (Lavin & Gray 2016).

Each 4x4 output tile comes from a 6x6 input tile ``d``:
``Y = A^T [U ⊙ (B^T d B)] A`` with ``U = G g G^T`` per (c, f) (computed once per weights in
float64, :func:`backends.winograd.filter_transform`), matrices in :mod:`backends.winograd`.
The channel sum of ``U ⊙ V`` is 36 one-thread BLAS GEMMs (``np.dot`` in jitted code) per block
of tiles; 4x fewer multiplies than direct 3x3 convolution (F(2x2, 3x3): 2.25x).

Vectorisation: the 1-D transforms are written out with shared subexpressions (13 adds and 4
exact scalings per 6 inputs, as the Cython C macros ``LB_BT6`` / ``LB_AT6``), each a loop
over a run of at most :data:`CB` channels, contiguous and innermost. The rows of a tile live
in per-worker 1-D scratch arrays with a row stride of the compile-time constant :data:`CB`
(Numba freezes module globals), so LLVM sees the rows of one scratch as one object with
constant offsets and vectorises each loop after a handful of run-time overlap checks; a
tile is first copied into the scratch with zeros outside the image, so the transforms have
no per-element branches. Every index is an unsigned flat offset: Numba guards a signed index
with a negative-index select, which LLVM could not drop for offsets such as ``k T C + t C +
cs`` and which kept those loops scalar (measured, EDSR-baseline body conv 1x339x510x64, 1
thread: copying the transformed tiles into V took 16.4 ms with signed 2-D indices, 4.6 ms
with unsigned flat ones; the whole input transform went from 41 to 26 ms). Scalars are typed
constants of the array's dtype (a Python int times a float32 would be computed in float64).

Output transform and epilogue: ``Y = A^T M A`` per tile and channel run in scratch, then
``y = alpha relu?(Y + b) + beta residual`` per output pixel (each step only when asked,
flags tested outside the channel loops), written once; tiles past the output are cropped.
"""

from __future__ import annotations

import numpy as np

from ..winograd import SCALE, G, chunk_tiles
from ._jit import helper, kernel, prange

# Channels per pass of the transforms (the row stride of the scratch arrays): 64 float32 are
# 256 bytes, 36 rows 9 KB, so a tile's scratch stays in L1.
CB = 64
U = np.uint64  # index type: Numba adds no negative-index wraparound to unsigned indices


GI4 = G[4] * SCALE[4]  # integers (6, 4, 2, 1, 24): see backends.winograd.SCALE


@kernel
def filter4(w, u):
    """F(4x4, 3x3) ``u[6 a + b, c, f] = (G g G^T)[a, b]`` for ``g = w[:, :, c, f]``, in float64
    with ``G = GI4 / 24`` and the sums in :func:`backends.winograd.filter_transform`'s order
    (LLVM contracts nothing into FMA without fastmath), so the bits equal it.

    Filters go FB at a time through local arrays: the 9 rows read and 36 rows written per
    channel are C F elements apart, a multiple of 4 KiB for 256x256, so they share cache
    sets, and element by element each line was fetched again (15 ms per 256x256 layer at 1
    thread, against 4 ms in runs)."""
    _, _, nc, nf = w.shape
    fb = 64
    for c in prange(nc):
        g = np.empty((9, fb))
        t = np.empty((18, fb))
        for f0 in range(0, nf, fb):
            n = min(fb, nf - f0)
            for a in range(3):
                for q in range(3):
                    for j in range(n):
                        g[3 * a + q, j] = w[a, q, c, f0 + j]
            for a in range(6):
                for q in range(3):
                    for j in range(n):
                        t[3 * a + q, j] = ((GI4[a, 0] * g[q, j] + GI4[a, 1] * g[3 + q, j])
                                           + GI4[a, 2] * g[6 + q, j])
            for a in range(6):
                for b in range(6):
                    for j in range(n):
                        u[6 * a + b, c, f0 + j] = ((t[3 * a, j] * GI4[b, 0]
                                                    + t[3 * a + 1, j] * GI4[b, 1])
                                                   + t[3 * a + 2, j] * GI4[b, 2]) / 576.0


@helper
def _bt6(d, i0, step, o, j0, ostep, nc):
    """``o[j0 + k ostep + c] = sum_a B^T[k, a] d[i0 + a step + c]`` for k < 6, c < nc: the 1-D
    F(4x4) input transform, B^T rows [4,0,-5,0,1,0] [0,-4,-4,1,1,0] [0,4,-4,-1,1,0]
    [0,-2,-1,2,1,0] [0,2,-1,-2,1,0] [0,4,0,-5,0,1]. Offsets are unsigned (see the module
    docstring)."""
    two = d.dtype.type(2)
    four = d.dtype.type(4)
    five = d.dtype.type(5)
    s2, s3, s4, s5 = U(2) * step, U(3) * step, U(4) * step, U(5) * step
    t2, t3, t4, t5 = U(2) * ostep, U(3) * ostep, U(4) * ostep, U(5) * ostep
    for cc in range(nc):
        c = U(cc)
        x0 = d[i0 + c]
        x1 = d[i0 + step + c]
        x2 = d[i0 + s2 + c]
        x3 = d[i0 + s3 + c]
        x4 = d[i0 + s4 + c]
        x5 = d[i0 + s5 + c]
        p = x4 - four * x2
        q = x3 - four * x1
        r = x4 - x2
        s = two * (x3 - x1)
        o[j0 + c] = (four * x0 - five * x2) + x4
        o[j0 + ostep + c] = p + q
        o[j0 + t2 + c] = p - q
        o[j0 + t3 + c] = r + s
        o[j0 + t4 + c] = r - s
        o[j0 + t5 + c] = (four * x1 - five * x3) + x5


@helper
def _load_tile(xf, h, w, c, n, r0, k0, cs, nc, d):
    """``d[(6 a + b) CB + k] = xpad[n, r0 + a, k0 + b, cs + k]`` for a, b < 6, k < nc (``xf``
    the flat input (N, h, w, c)): one 6x6 tile's channel run, zero outside the image (the test
    is per pixel, not per element)."""
    zero = d.dtype.type(0)
    for a in range(6):
        r = r0 + a
        for b in range(6):
            col = k0 + b
            base = U((6 * a + b) * CB)
            if r >= 0 and r < h and col >= 0 and col < w:
                src = U(((n * h + r) * w + col) * c + cs)
                for k in range(nc):
                    d[base + U(k)] = xf[src + U(k)]
            else:
                for k in range(nc):
                    d[base + U(k)] = zero


@helper
def _input_tile(x, vf, vs, t, tile, th, tw, top, left, d, e, g):
    """``v[6 a + b, t, :] = (B^T d B)[a, b]`` of input tile ``tile`` (all channels); ``vf`` is
    ``v`` (36, T, C) flat, ``vs = T C`` its row stride. ``d``, ``e``, ``g``: scratch of 36
    rows of :data:`CB`."""
    n_, h, w, c = x.shape
    xf = x.reshape(x.size)
    n = tile // (th * tw)
    rem = tile - n * th * tw
    ti = rem // tw
    r0 = 4 * ti - top
    k0 = 4 * (rem - ti * tw) - left
    for cs in range(0, c, CB):
        nc = min(CB, c - cs)
        _load_tile(xf, h, w, c, n, r0, k0, cs, nc, d)
        for b in range(6):  # e = B^T d, column b
            _bt6(d, U(b * CB), U(6 * CB), e, U(b * CB), U(6 * CB), nc)
        # V = e B, row a, into scratch and then copied: written straight into V's six rows
        # (run-time stride vs) the loop needs an overlap check per pair of them; through the
        # constant-stride scratch the layer is 9-20 % faster at 1 thread (510x339, same bits)
        for a in range(6):
            _bt6(e, U(6 * a * CB), U(CB), g, U(6 * a * CB), U(CB), nc)
        for k in range(36):
            dst = U(k * vs + t * c + cs)
            src = U(k * CB)
            for j in range(nc):
                vf[dst + U(j)] = g[src + U(j)]


@helper
def _at6(m, i0, step, o, j0, ostep, nc):
    """``o[j0 + k ostep + f] = sum_a A^T[k, a] m[i0 + a step + f]`` for k < 4, f < nc: the
    1-D F(4x4) output transform, A^T rows [1,1,1,1,1,0] [0,1,-1,2,-2,0] [0,1,1,4,4,0]
    [0,1,-1,8,-8,1]."""
    two = m.dtype.type(2)
    four = m.dtype.type(4)
    eight = m.dtype.type(8)
    s2, s3, s4, s5 = U(2) * step, U(3) * step, U(4) * step, U(5) * step
    t2, t3 = U(2) * ostep, U(3) * ostep
    for ff in range(nc):
        f = U(ff)
        m1 = m[i0 + step + f]
        m2 = m[i0 + s2 + f]
        m3 = m[i0 + s3 + f]
        m4 = m[i0 + s4 + f]
        p = m1 + m2
        q = m1 - m2
        r = m3 + m4
        t = m3 - m4
        o[j0 + f] = (m[i0 + f] + p) + r
        o[j0 + ostep + f] = q + two * t
        o[j0 + t2 + f] = p + four * r
        o[j0 + t3 + f] = (q + eight * t) + m[i0 + s5 + f]


@helper
def _finish(o, oo, yf, yo, b, fs, nf, has_bias, relu, resf, alpha, beta, has_res):
    """``y = alpha relu?(o + b) + beta res`` for one output pixel's channel run (each step only
    if its flag is set, flags tested outside the loops, in the order of the unfused layers)."""
    zero = o.dtype.type(0)
    if has_bias:
        for ff in range(nf):
            f = U(ff)
            o[oo + f] = o[oo + f] + b[fs + f]
    if relu:
        for ff in range(nf):
            f = U(ff)
            val = o[oo + f]
            o[oo + f] = val if val > zero else zero
    if has_res:
        for ff in range(nf):
            f = U(ff)
            yf[yo + f] = alpha * o[oo + f] + beta * resf[yo + f]
    else:
        for ff in range(nf):
            f = U(ff)
            yf[yo + f] = o[oo + f]


@helper
def _output_tile(mf, ms, t, tile, th, tw, ho, wo, yf, f, b, has_bias, relu, resf, alpha,
                 beta, has_res, s, o):
    """``Y = A^T M A`` of tile ``tile`` plus the epilogue (:func:`_finish`), cropped to the
    output; ``mf`` is ``M`` (36, T, F) flat, ``ms = T F`` its row stride."""
    n = tile // (th * tw)
    rem = tile - n * th * tw
    ti = rem // tw
    i0 = 4 * ti
    j0 = 4 * (rem - ti * tw)
    for fs in range(0, f, CB):
        nf = min(CB, f - fs)
        for a in range(6):  # s = A^T M, column a
            _at6(mf, U(a * ms + t * f + fs), U(6 * ms), s, U(a * CB), U(6 * CB), nf)
        for i in range(4):  # Y = s A, row i
            _at6(s, U(6 * i * CB), U(CB), o, U(4 * i * CB), U(CB), nf)
        for i in range(min(4, ho - i0)):
            for j in range(min(4, wo - j0)):
                yo = U(((n * ho + i0 + i) * wo + j0 + j) * f + fs)
                _finish(o, U((4 * i + j) * CB), yf, yo, b, U(fs), nf, has_bias, relu, resf,
                        alpha, beta, has_res)


@kernel
def winograd4(x, u, b, has_bias, ho, wo, top, left, block, workers, relu, res, alpha, beta,
              has_res, y):
    """Worker k takes blocks of ``block`` tiles k, k + workers, ...: input transform, 36
    one-thread GEMMs ``M_k = V_k U_k``, output transform with the epilogue. One parallel region;
    the block bounds (hence every GEMM, hence the bits) depend on the shapes only."""
    n, _, _, c = x.shape
    f = u.shape[2]
    th = (ho + 3) // 4
    tw = (wo + 3) // 4
    n_tiles = n * th * tw
    n_blocks = (n_tiles + block - 1) // block
    yf = y.reshape(y.size)
    resf = res.reshape(res.size)
    zero = x.dtype.type(0)
    for wk in prange(workers):
        v = np.empty((36, block, c), x.dtype)
        m = np.empty((36, block, f), x.dtype)
        vf = v.reshape(v.size)
        mf = m.reshape(m.size)
        d = np.empty(36 * CB, x.dtype)
        e = np.empty(36 * CB, x.dtype)
        g = np.empty(36 * CB, x.dtype)
        s = np.empty(24 * CB, x.dtype)
        o = np.empty(16 * CB, x.dtype)
        for bi in range(wk, n_blocks, workers):
            t0 = bi * block
            rows = min(block, n_tiles - t0)
            for t in range(rows):
                _input_tile(x, vf, block * c, t, t0 + t, th, tw, top, left, d, e, g)
            for t in range(rows, block):  # past the last tile: zeros, not stale values
                for k in range(36):
                    v[k, t, :] = zero
            for k in range(36):
                np.dot(v[k], u[k], m[k])
            for t in range(rows):
                _output_tile(mf, block * f, t, t0 + t, th, tw, ho, wo, yf, f, b, has_bias,
                             relu, resf, alpha, beta, has_res, s, o)
    return y


def block_tiles(c: int, f: int, n_tiles: int) -> int:
    """Tiles per block for C input and F output channels: :func:`backends.winograd.chunk_tiles`
    (measured there), at most ``n_tiles``; from the shapes only, never from the thread count."""
    return int(min(chunk_tiles(c, f), max(1, n_tiles)))
