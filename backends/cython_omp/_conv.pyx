"""Convolution and dense kernels: blocked im2col + BLAS GEMM, Winograd F(2x2, 3x3), col2im.

Inputs are validated by ``backends/cython_omp/conv.py`` / ``dense.py``; these functions trust
shapes, dtypes and layout. Row-major products are handed to column-major BLAS as their
transposes: ``C = A B`` (row-major) is ``C^T = B^T A^T`` (column-major), so no copies.

Chunks of the convolutions go to threads dynamically: each chunk computes its own outputs
(or its own fixed partial) in its thread's scratch, so which thread runs it changes no bit,
and a thread descheduled by another process does not hold up a static share of the work
(the 2-core VM this was tuned on is shared).

Determinism: a multi-threaded OpenBLAS call does not give the bits of a single-threaded one
(measured: float64 conv and float32 dense differ between 1 and 2 BLAS threads). So BLAS runs
single-threaded (``backends.cython_omp.set_threads``) and the parallelism is ours: ``prange``
over GEMM chunks whose sizes depend on the shapes only, each chunk one single-threaded GEMM
on disjoint outputs. Reductions (``dW`` over blocks, ``db`` over fixed chunks) run in an
order fixed by the shapes, never by the thread count.
"""

import numpy as np

from backends import buffers
from backends.winograd import chunk_tiles

cimport openmp
from cython.parallel cimport prange, threadid
from libc.string cimport memcpy, memset
from scipy.linalg.cython_blas cimport dgemm, sgemm

ctypedef fused real:
    float
    double

# Elements of the im2col / Winograd scratch buffers per block: 32 MB in float32. Measured on
# the EDSR body shape: 2^19 is 20-40% slower (GEMM re-packs w per block), 2^25 no faster.
cdef Py_ssize_t BLOCK_ELEMS = 1 << 23
cdef Py_ssize_t SUM_CHUNK = 256
# Elements of one GEMM chunk's patch matrix (per thread).
cdef Py_ssize_t CHUNK_ELEMS = 1 << 19
# Elements of one F(2x2) Winograd chunk's V + M buffers (per thread): 1 MB in float32, half a
# 2 MB L2, so the transform's writes are still cached when the GEMMs read them.
cdef Py_ssize_t WINOGRAD_ELEMS = 1 << 18
# Tiles per F(4x4) chunk: backends.winograd.chunk_tiles(C, F) (measured there), unless the
# testing hook winograd4_tiles() set a number.
cdef Py_ssize_t WINOGRAD4_TILES = 0

# Phase timers (profiling hook, off by default): thread-seconds per phase, summed over threads.
cdef enum:
    MAX_PROF_THREADS = 64
    N_PHASES = 3  # 0: im2col / input transform, 1: GEMMs, 2: output transform / epilogue
cdef bint PROFILING = False
cdef double PROF[MAX_PROF_THREADS][N_PHASES]


cdef inline double tick(double t0, int phase) noexcept nogil:
    """Charge the time since ``t0`` to ``phase`` of this thread; the new start time."""
    cdef double t1 = openmp.omp_get_wtime()
    cdef int tid = openmp.omp_get_thread_num()
    if tid < MAX_PROF_THREADS:
        PROF[tid][phase] += t1 - t0
    return t1


def profile(bint on=True):
    """Profiling hook: the thread-seconds spent per phase since the last call (``transform``:
    im2col or the Winograd input transform, ``gemm``, ``output``: the output transform and
    epilogue), then reset; ``on`` switches the timers on or off for what follows."""
    global PROFILING
    out = {name: sum(PROF[t][k] for t in range(MAX_PROF_THREADS))
           for k, name in enumerate(("transform", "gemm", "output"))}
    for t in range(MAX_PROF_THREADS):
        for k in range(N_PHASES):
            PROF[t][k] = 0
    PROFILING = on
    return out


cdef inline void gemm(char *ta, char *tb, int m, int n, int k, const real *a, int lda,
                      const real *b, int ldb, real beta, real *c, int ldc) noexcept nogil:
    """Column-major ``C = op(A) op(B) + beta C`` in the precision of ``real``."""
    cdef real one = 1
    if real is float:
        sgemm(ta, tb, &m, &n, &k, &one, <float *>a, &lda, <float *>b, &ldb, &beta, c, &ldc)
    else:
        dgemm(ta, tb, &m, &n, &k, &one, <double *>a, &lda, <double *>b, &ldb, &beta, c, &ldc)


# -- float32 GEMM kernels of our own (the forward products) -----------------------------------
# OpenBLAS may be pinned to narrower kernels than the CPU has (e.g. OPENBLAS_CORETYPE=Haswell
# on an AVX-512 machine halves its peak), so the float32 Winograd products run these register-
# blocked kernels instead. Every element of C is the fused multiply-add chain over k = 0, 1,
# ..., K - 1 starting from zero, in the AVX-512, AVX2 and scalar variants alike: which one the
# CPU runs changes the speed, never the bits.
cdef extern from *:
    """
    #include <math.h>
    #include <stddef.h>
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
    #define LB_X86 1
    #include <immintrin.h>
    #else
    #define LB_X86 0
    #endif

    /* C (M x N) = A (M x K) B (K x N), row-major with leading dimensions lda, ldb, ldc. */
    static void lb_sgemm_scalar(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *a,
                                ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,
                                ptrdiff_t ldc) {
        for (ptrdiff_t i = 0; i < M; i++)
            for (ptrdiff_t j = 0; j < N; j++) {
                float acc = 0;
                for (ptrdiff_t k = 0; k < K; k++) acc = fmaf(a[i * lda + k], b[k * ldb + j], acc);
                c[i * ldc + j] = acc;
            }
    }

    #if LB_X86
    #define LB_UNROLL _Pragma("GCC unroll 8")

    /* One R x (16 NB) block of C, the last 16-float vector masked by m. */
    #define LB_SG512(R, NB)                                                                 \\
    __attribute__((target("avx512f"))) static void lb_sg512_##R##_##NB(                    \\
            const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,         \\
            ptrdiff_t ldc, ptrdiff_t K, __mmask16 m) {                                      \\
        __m512 acc[R][NB], bv[NB];                                                          \\
        LB_UNROLL for (int i = 0; i < R; i++)                                               \\
            LB_UNROLL for (int j = 0; j < NB; j++) acc[i][j] = _mm512_setzero_ps();         \\
        for (ptrdiff_t k = 0; k < K; k++) {                                                 \\
            LB_UNROLL for (int j = 0; j < NB; j++)                                          \\
                bv[j] = _mm512_maskz_loadu_ps(j == NB - 1 ? m : 0xFFFF, b + k * ldb + 16 * j); \\
            LB_UNROLL for (int i = 0; i < R; i++) {                                         \\
                __m512 av = _mm512_set1_ps(a[i * lda + k]);                                 \\
                LB_UNROLL for (int j = 0; j < NB; j++)                                      \\
                    acc[i][j] = _mm512_fmadd_ps(av, bv[j], acc[i][j]);                      \\
            }                                                                               \\
        }                                                                                   \\
        LB_UNROLL for (int i = 0; i < R; i++)                                               \\
            LB_UNROLL for (int j = 0; j < NB; j++)                                          \\
                _mm512_mask_storeu_ps(c + i * ldc + 16 * j, j == NB - 1 ? m : 0xFFFF,       \\
                                      acc[i][j]);                                           \\
    }
    LB_SG512(6, 4) LB_SG512(1, 4) LB_SG512(6, 3) LB_SG512(1, 3)
    LB_SG512(8, 2) LB_SG512(1, 2) LB_SG512(8, 1) LB_SG512(1, 1)

    __attribute__((target("avx512f"))) static void lb_sgemm_avx512(
            ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *a, ptrdiff_t lda,
            const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc) {
        for (ptrdiff_t j0 = 0; j0 < N; j0 += 64) {  /* a 64-column panel of B stays cached */
            ptrdiff_t w = N - j0 < 64 ? N - j0 : 64, i = 0;
            int nb = (int)((w + 15) / 16);
            __mmask16 m = (__mmask16)((1u << (w - 16 * (nb - 1))) - 1);
            const float *bj = b + j0;
            float *cj = c + j0;
            #define LB_ROWS512(R, NB)                                                       \\
                for (; i + R <= M; i += R)                                                  \\
                    lb_sg512_##R##_##NB(a + i * lda, lda, bj, ldb, cj + i * ldc, ldc, K, m); \\
                for (; i < M; i++)                                                          \\
                    lb_sg512_1_##NB(a + i * lda, lda, bj, ldb, cj + i * ldc, ldc, K, m);
            switch (nb) {
                case 4: LB_ROWS512(6, 4) break;
                case 3: LB_ROWS512(6, 3) break;
                case 2: LB_ROWS512(8, 2) break;
                default: LB_ROWS512(8, 1) break;
            }
            #undef LB_ROWS512
        }
    }

    /* One R x (8 NB) block of C, the last 8-float vector masked by m (16 registers). */
    #define LB_SG256(R, NB)                                                                 \\
    __attribute__((target("avx2,fma"))) static void lb_sg256_##R##_##NB(                   \\
            const float *a, ptrdiff_t lda, const float *b, ptrdiff_t ldb, float *c,         \\
            ptrdiff_t ldc, ptrdiff_t K, __m256i m) {                                        \\
        __m256 acc[R][NB], bv[NB];                                                          \\
        __m256i all = _mm256_set1_epi32(-1);                                                \\
        LB_UNROLL for (int i = 0; i < R; i++)                                               \\
            LB_UNROLL for (int j = 0; j < NB; j++) acc[i][j] = _mm256_setzero_ps();         \\
        for (ptrdiff_t k = 0; k < K; k++) {                                                 \\
            LB_UNROLL for (int j = 0; j < NB; j++)                                          \\
                bv[j] = _mm256_maskload_ps(b + k * ldb + 8 * j, j == NB - 1 ? m : all);     \\
            LB_UNROLL for (int i = 0; i < R; i++) {                                         \\
                __m256 av = _mm256_broadcast_ss(a + i * lda + k);                           \\
                LB_UNROLL for (int j = 0; j < NB; j++)                                      \\
                    acc[i][j] = _mm256_fmadd_ps(av, bv[j], acc[i][j]);                      \\
            }                                                                               \\
        }                                                                                   \\
        LB_UNROLL for (int i = 0; i < R; i++)                                               \\
            LB_UNROLL for (int j = 0; j < NB; j++)                                          \\
                _mm256_maskstore_ps(c + i * ldc + 8 * j, j == NB - 1 ? m : all, acc[i][j]); \\
    }
    LB_SG256(6, 2) LB_SG256(1, 2) LB_SG256(6, 1) LB_SG256(1, 1)

    __attribute__((target("avx2,fma"))) static void lb_sgemm_avx2(
            ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *a, ptrdiff_t lda,
            const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc) {
        for (ptrdiff_t j0 = 0; j0 < N; j0 += 16) {
            ptrdiff_t w = N - j0 < 16 ? N - j0 : 16, i = 0;
            int nb = (int)((w + 7) / 8), tail = (int)(w - 8 * (nb - 1));
            __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail),
                                           _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
            const float *bj = b + j0;
            float *cj = c + j0;
            if (nb == 2) {
                for (; i + 6 <= M; i += 6)
                    lb_sg256_6_2(a + i * lda, lda, bj, ldb, cj + i * ldc, ldc, K, m);
                for (; i < M; i++) lb_sg256_1_2(a + i * lda, lda, bj, ldb, cj + i * ldc, ldc, K, m);
            } else {
                for (; i + 6 <= M; i += 6)
                    lb_sg256_6_1(a + i * lda, lda, bj, ldb, cj + i * ldc, ldc, K, m);
                for (; i < M; i++) lb_sg256_1_1(a + i * lda, lda, bj, ldb, cj + i * ldc, ldc, K, m);
            }
        }
    }
    #endif

    /* 2: AVX-512, 1: AVX2 + FMA, 0: scalar, -1: none of ours (BLAS); lb_isa_forced >= -1
       overrides the CPU's choice (testing hook). */
    static int lb_isa_forced = -2;
    static int lb_isa_cpu = -3;
    static int lb_sgemm_isa(void) {
        if (lb_isa_forced >= -1) return lb_isa_forced;
        if (lb_isa_cpu == -3) {
    #if LB_X86
            __builtin_cpu_init();
            lb_isa_cpu = __builtin_cpu_supports("avx512f") ? 2
                       : (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ? 1
                       : -1;
    #else
            lb_isa_cpu = -1;
    #endif
        }
        return lb_isa_cpu;
    }
    static void lb_sgemm_force(int isa) { lb_isa_forced = isa; }

    static void lb_sgemm(ptrdiff_t M, ptrdiff_t N, ptrdiff_t K, const float *a, ptrdiff_t lda,
                         const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc) {
        switch (lb_sgemm_isa()) {
    #if LB_X86
            case 2: lb_sgemm_avx512(M, N, K, a, lda, b, ldb, c, ldc); return;
            case 1: lb_sgemm_avx2(M, N, K, a, lda, b, ldb, c, ldc); return;
    #endif
            default: lb_sgemm_scalar(M, N, K, a, lda, b, ldb, c, ldc); return;
        }
    }
    """
    int lb_sgemm_isa() noexcept nogil
    void lb_sgemm_force(int isa) noexcept nogil
    void lb_sgemm(Py_ssize_t M, Py_ssize_t N, Py_ssize_t K, const float *a, Py_ssize_t lda,
                  const float *b, Py_ssize_t ldb, float *c, Py_ssize_t ldc) noexcept nogil


SGEMM_ISAS = {"avx512": 2, "avx2": 1, "scalar": 0, "blas": -1}


def sgemm_isa(str isa=None):
    """The float32 Winograd GEMM in use (``"avx512"``, ``"avx2"``, ``"scalar"`` or
    ``"blas"``: what this CPU runs unless a testing override is set); with ``isa``, force
    that one (``"auto"``: back to the CPU's choice). Returns the previous one."""
    names = {v: k for k, v in SGEMM_ISAS.items()}
    old = names[lb_sgemm_isa()]
    if isa is not None:
        if isa != "auto" and isa not in SGEMM_ISAS:
            raise ValueError(f"isa must be one of {sorted(SGEMM_ISAS)} or 'auto', got {isa!r}")
        lb_sgemm_force(-2 if isa == "auto" else SGEMM_ISAS[isa])
    return old


def own_sgemm(const float[:, ::1] a, const float[:, ::1] b, float[:, ::1] c):
    """``c = a b`` (row-major float32) by the kernel :func:`sgemm_isa` names (testing hook).

    Each ``c[i, j]`` is ``fma(a[i, K-1], b[K-1, j], ... fma(a[i, 0], b[0, j], 0))``."""
    if a.shape[1] != b.shape[0] or c.shape[0] != a.shape[0] or c.shape[1] != b.shape[1]:
        raise ValueError(f"shapes a {tuple(a.shape)[:2]}, b {tuple(b.shape)[:2]}, "
                         f"c {tuple(c.shape)[:2]} do not make c = a b")
    if lb_sgemm_isa() == -1:
        raise ValueError("no kernel of ours is in use (sgemm_isa() is 'blas')")
    with nogil:
        lb_sgemm(a.shape[0], b.shape[1], a.shape[1], &a[0, 0], a.shape[1], &b[0, 0],
                 b.shape[1], &c[0, 0], c.shape[1])


cdef inline void gemm_nn(Py_ssize_t rows, Py_ssize_t F, Py_ssize_t K, const real *a,
                         Py_ssize_t lda, const real *b, Py_ssize_t ldb, real *c,
                         Py_ssize_t ldc) noexcept nogil:
    """Row-major ``c = a b`` for a (rows, K), b (K, F): float32 through our kernels (see
    :func:`sgemm_isa`) where the CPU has one, else BLAS."""
    if real is float and lb_sgemm_isa() >= 0:
        lb_sgemm(rows, F, K, <const float *>a, lda, <const float *>b, ldb, <float *>c, ldc)
    else:
        gemm("N", "N", <int>F, <int>rows, <int>K, b, <int>ldb, a, <int>lda, 0, c, <int>ldc)


def set_block_elems(Py_ssize_t n, Py_ssize_t chunk=0, Py_ssize_t winograd=0):
    """Tuning/testing hook: scratch block size in elements (and, if > 0, the GEMM chunk
    size and the F(2x2) Winograd chunk's ``V + M`` elements); returns the previous block
    size.
    Results stay independent of the thread count."""
    global BLOCK_ELEMS, CHUNK_ELEMS, WINOGRAD_ELEMS
    old, BLOCK_ELEMS = BLOCK_ELEMS, max(n, 1)
    if chunk > 0:
        CHUNK_ELEMS = chunk
    if winograd > 0:
        WINOGRAD_ELEMS = winograd
    return old


def winograd4_tiles(Py_ssize_t n=0):
    """Tuning/testing hook: tiles per F(4x4) chunk (``n`` > 0; at least 8 are used), or back
    to :func:`backends.winograd.chunk_tiles` (``n`` = 0); returns the previous setting.
    Results stay independent of the thread count."""
    global WINOGRAD4_TILES
    old, WINOGRAD4_TILES = WINOGRAD4_TILES, max(n, 0)
    return old


def block_rows(Py_ssize_t per_row):
    """How many rows of ``per_row`` elements fill one scratch block (at least one)."""
    return max(1, BLOCK_ELEMS // max(per_row, 1))


cdef inline Py_ssize_t chunk_rows(Py_ssize_t per_row) noexcept nogil:
    """Rows per GEMM chunk: ~2 MB of float32 patches (stays in L2), 64..4096 rows.

    A function of the shape only, so the same GEMM calls run whatever the thread count.
    """
    return max(64, min(4096, CHUNK_ELEMS // max(per_row, 1)))


cdef void gemm_rows(const real *a, const real *b, real *c, Py_ssize_t rows, int K, int F,
                    Py_ssize_t chunk) noexcept nogil:
    """Row-major ``c = a b`` for a (rows, K), b (K, F): parallel over fixed row chunks."""
    cdef Py_ssize_t nch = (rows + chunk - 1) // chunk, ch, r0
    for ch in prange(nch, schedule="static"):
        r0 = ch * chunk
        gemm_nn(min(chunk, rows - r0), F, K, a + r0 * K, K, b, F, c + r0 * F, F)


cdef void gemm_rows_bt(const real *a, const real *b, real *c, Py_ssize_t rows, int F, int K,
                       Py_ssize_t chunk) noexcept nogil:
    """Row-major ``c = a b^T`` for a (rows, F), b (K, F): parallel over fixed row chunks."""
    cdef Py_ssize_t nch = (rows + chunk - 1) // chunk, ch, r0
    for ch in prange(nch, schedule="static"):
        r0 = ch * chunk
        gemm("T", "N", K, <int>min(chunk, rows - r0), F, b, F, a + r0 * F, F, 0, c + r0 * K, K)


cdef void gemm_at_b(const real *a, const real *b, real *c, int rows, int K, int F, real beta,
                    Py_ssize_t kchunk) noexcept nogil:
    """Row-major ``c = a^T b + beta c`` for a (rows, K), b (rows, F): parallel over fixed
    chunks of the K rows of c (the sum over ``rows`` stays inside one GEMM)."""
    cdef Py_ssize_t nch = (K + kchunk - 1) // kchunk, ch, k0
    for ch in prange(nch, schedule="static"):
        k0 = ch * kchunk
        gemm("N", "T", F, <int>min(kchunk, K - k0), rows, b, F, a + k0, K, beta, c + k0 * F, F)


# -- im2col / col2im ------------------------------------------------------------------------

cdef inline void im2col_pixel(const real *x, real *dst, Py_ssize_t m, Py_ssize_t H,
                              Py_ssize_t W, Py_ssize_t C, Py_ssize_t ho, Py_ssize_t wo,
                              Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                              Py_ssize_t top, Py_ssize_t left) noexcept nogil:
    """Row ``m`` (output pixel n, i, j) of the patch matrix: (p, q, c) row-major, zero pads."""
    cdef Py_ssize_t n = m // (ho * wo)
    cdef Py_ssize_t rem = m - n * ho * wo
    cdef Py_ssize_t i = rem // wo
    cdef Py_ssize_t j = rem - i * wo
    cdef Py_ssize_t p, q, c, r, col
    cdef const real *s
    cdef real *d
    for p in range(kh):
        r = i * sh + p - top
        for q in range(kw):
            col = j * sw + q - left
            d = dst + (p * kw + q) * C
            if r < 0 or r >= H or col < 0 or col >= W:
                memset(d, 0, C * sizeof(real))
            else:
                s = x + ((n * H + r) * W + col) * C
                for c in range(C):
                    d[c] = s[c]


cdef inline void col2im_row(real *dx, const real *dcols, Py_ssize_t n, Py_ssize_t r,
                            Py_ssize_t i_lo, Py_ssize_t i_hi, Py_ssize_t g0, Py_ssize_t H,
                            Py_ssize_t W, Py_ssize_t C, Py_ssize_t ho, Py_ssize_t wo,
                            Py_ssize_t kh, Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw,
                            Py_ssize_t top, Py_ssize_t left) noexcept nogil:
    """Add to input row (n, r) every patch entry of output rows [i_lo, i_hi) that reads it.

    A gather: one call owns one row of ``dx``, so rows can run in parallel without races.
    """
    cdef Py_ssize_t K = kh * kw * C
    cdef Py_ssize_t col, p, q, t, u, i, j, c
    cdef real *d
    cdef const real *s
    for col in range(W):
        d = dx + ((n * H + r) * W + col) * C
        for p in range(kh):
            t = r + top - p
            if t < 0 or t % sh != 0:
                continue
            i = t // sh
            if i < i_lo or i >= i_hi:
                continue
            for q in range(kw):
                u = col + left - q
                if u < 0 or u % sw != 0:
                    continue
                j = u // sw
                if j >= wo:
                    continue
                s = dcols + ((n * ho + i - g0) * wo + j) * K + (p * kw + q) * C
                for c in range(C):
                    d[c] += s[c]


cdef void add_bias(real *y, const real *b, Py_ssize_t rows, Py_ssize_t F) noexcept nogil:
    cdef Py_ssize_t m, f
    for m in prange(rows, schedule="static"):
        for f in range(F):
            y[m * F + f] += b[f]


cdef struct Epilogue:
    # what the output pass does after the GEMM: bias, ReLU, ``alpha y + beta res``
    bint has_bias
    bint relu
    bint has_res
    double alpha
    double beta


cdef inline void finish_rows(real *y, const real *b, const real *res, Epilogue ep,
                             Py_ssize_t m0, Py_ssize_t m1, Py_ssize_t F) noexcept nogil:
    """Output rows [m0, m1) of (rows, F) ``y``, in place, while they are in cache:
    ``y = alpha relu?(y + b) + beta res`` with the same operations, in the same order, as
    the unfused bias add, ReLU layer and Shortcut layer (so the same bits)."""
    cdef Py_ssize_t m, f
    cdef real v, al = <real>ep.alpha, be = <real>ep.beta
    if not (ep.has_bias or ep.relu or ep.has_res):
        return
    for m in range(m0, m1):
        for f in range(F):
            v = y[m * F + f]
            if ep.has_bias:
                v = v + b[f]
            if ep.relu:
                v = v if v > 0 else 0
            if ep.has_res:
                v = al * v + be * res[m * F + f]
            y[m * F + f] = v


cdef Epilogue epilogue(bint has_bias, bint relu, bint has_res, double alpha, double beta):
    cdef Epilogue ep
    ep.has_bias, ep.relu, ep.has_res, ep.alpha, ep.beta = has_bias, relu, has_res, alpha, beta
    return ep


cdef void column_sums(const real *a, real *out, Py_ssize_t rows, Py_ssize_t F, real *partial,
                      Py_ssize_t nchunks) noexcept nogil:
    """``out[f] = sum_m a[m, f]``: fixed chunks in parallel, then chunks added in order."""
    cdef Py_ssize_t ch, m, f, m0, m1
    for ch in prange(nchunks, schedule="static"):
        m0 = ch * SUM_CHUNK
        m1 = min(m0 + SUM_CHUNK, rows)
        for f in range(F):
            partial[ch * F + f] = 0
        for m in range(m0, m1):
            for f in range(F):
                partial[ch * F + f] += a[m * F + f]
    for f in range(F):
        out[f] = 0
    for ch in range(nchunks):
        for f in range(F):
            out[f] += partial[ch * F + f]


def column_sum(const real[:, ::1] a, real[::1] out):
    """``out = a.sum(axis=0)`` with a thread-count independent order."""
    cdef Py_ssize_t rows = a.shape[0], F = a.shape[1]
    cdef Py_ssize_t nchunks = (rows + SUM_CHUNK - 1) // SUM_CHUNK
    cdef real[:, ::1] partial = np.empty((nchunks, F), dtype=np.asarray(out).dtype)
    with nogil:
        column_sums(&a[0, 0], &out[0], rows, F, &partial[0, 0], nchunks)


# -- forward --------------------------------------------------------------------------------

cdef void conv_chunk(const real *x, const real *w, const real *b, const real *res,
                     Epilogue ep, real *y, real *buf, Py_ssize_t m0, Py_ssize_t m1, Py_ssize_t H, Py_ssize_t W,
                     Py_ssize_t C, Py_ssize_t F, Py_ssize_t ho, Py_ssize_t wo, Py_ssize_t kh,
                     Py_ssize_t kw, Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top,
                     Py_ssize_t left) noexcept nogil:
    """Output pixels [m0, m1): patches into this thread's ``buf``, one GEMM, epilogue."""
    cdef Py_ssize_t K = kh * kw * C, m
    cdef double t0 = openmp.omp_get_wtime() if PROFILING else 0
    for m in range(m0, m1):
        im2col_pixel(x, buf + (m - m0) * K, m, H, W, C, ho, wo, kh, kw, sh, sw, top, left)
    if PROFILING:
        t0 = tick(t0, 0)
    gemm_nn(m1 - m0, F, K, buf, K, w, F, y + m0 * F, F)
    if PROFILING:
        t0 = tick(t0, 1)
    finish_rows(y, b, res, ep, m0, m1, F)  # while the chunk is in cache
    if PROFILING:
        tick(t0, 2)


def conv_forward(const real[:, :, :, ::1] x, const real[:, :, :, ::1] w, const real[::1] b,
                 bint has_bias, real[:, :, :, ::1] y, int sh, int sw, int top, int left,
                 bint relu=False, const real[::1] res=None, double alpha=1, double beta=1):
    """``y[n,i,j,f] = b[f] + sum_{p,q,c} xpad[n, i sh + p, j sw + q, c] w[p,q,c,f]``, then
    (fused) ``y = max(y, 0)`` if ``relu`` and ``y = alpha y + beta res`` if ``res`` is given
    (``res`` is the flat output-shaped residual).

    Fused per chunk of output pixels (parallel): im2col into a per-thread buffer, GEMM,
    epilogue.
    """
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t kh = w.shape[0], kw = w.shape[1], F = w.shape[3]
    cdef Py_ssize_t ho = y.shape[1], wo = y.shape[2]
    cdef Py_ssize_t K = kh * kw * C, M = N * ho * wo
    cdef Py_ssize_t chunk = chunk_rows(K), nch = (M + chunk - 1) // chunk, ch
    cdef bint direct = kh == 1 and kw == 1 and sh == 1 and sw == 1 and ho == H and wo == W
    cdef int nthr = openmp.omp_get_max_threads()
    cdef real[:, ::1] scratch
    cdef real *sp
    cdef Epilogue ep = epilogue(has_bias, relu, res is not None, alpha, beta)
    cdef const real *rp = &res[0] if res is not None else NULL
    if direct:  # 1x1, stride 1, no padding: the input already is the patch matrix
        with nogil:
            gemm_rows(&x[0, 0, 0, 0], &w[0, 0, 0, 0], &y[0, 0, 0, 0], M, K, F, chunk)
            for ch in prange(nch, schedule="static"):
                finish_rows(&y[0, 0, 0, 0], &b[0], rp, ep, ch * chunk,
                            min(ch * chunk + chunk, M), F)
        return
    scratch = buffers.empty((nthr, min(chunk, M) * K), np.asarray(y).dtype)  # see winograd_run
    sp = &scratch[0, 0]
    with nogil:
        for ch in prange(nch, schedule="dynamic", num_threads=nthr):
            conv_chunk(&x[0, 0, 0, 0], &w[0, 0, 0, 0], &b[0], rp, ep, &y[0, 0, 0, 0],
                       sp + threadid() * min(chunk, M) * K, ch * chunk,
                       min(ch * chunk + chunk, M), H, W, C, F, ho, wo, kh, kw, sh, sw, top,
                       left)


# -- backward -------------------------------------------------------------------------------

cdef void filter_grad_group(const real *x, const real *dy, real *part, real *buf, Py_ssize_t g,
                            Py_ssize_t G, Py_ssize_t nch, Py_ssize_t chunk, Py_ssize_t M,
                            Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t F,
                            Py_ssize_t ho, Py_ssize_t wo, Py_ssize_t kh, Py_ssize_t kw,
                            Py_ssize_t sh, Py_ssize_t sw, Py_ssize_t top,
                            Py_ssize_t left) noexcept nogil:
    """``part = sum_{ch = g, g + G, ...} cols_ch^T dy_ch`` over the pixel chunks of group g,
    in chunk order: each chunk's patches into this thread's ``buf`` (cache-sized), one GEMM
    accumulating into the group's (K, F) partial."""
    cdef Py_ssize_t K = kh * kw * C, ch = g, m, m0, m1
    cdef real beta = 0
    while ch < nch:
        m0 = ch * chunk
        m1 = min(m0 + chunk, M)
        for m in range(m0, m1):
            im2col_pixel(x, buf + (m - m0) * K, m, H, W, C, ho, wo, kh, kw, sh, sw, top, left)
        gemm("N", "T", <int>F, <int>K, <int>(m1 - m0), dy + m0 * F, <int>F, buf, <int>K, beta,
             part, <int>F)
        beta = 1
        ch += G


# Groups of pixel chunks whose filter-gradient partials are summed at the end: enough for 2-8
# threads to share, few enough that the partials (G K F) stay small. A constant, so the
# order of every sum is fixed by the shape, never by the thread count.
cdef Py_ssize_t GRAD_GROUPS = 8


def conv_filter_grad(const real[:, :, :, ::1] x, const real[:, :, :, ::1] dy,
                     real[:, :, :, ::1] dw, int sh, int sw, int top, int left):
    """``dw[p, q, c, f] = sum_{n,i,j} xpad[n, i sh + p, j sw + q, c] dy[n, i, j, f]``:
    fixed chunks of output pixels (patches of one chunk stay in L2), chunk ``ch`` added into
    the partial of group ``ch mod G`` (parallel over groups), then the G partials added in
    group order."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t kh = dw.shape[0], kw = dw.shape[1], F = dw.shape[3]
    cdef Py_ssize_t ho = dy.shape[1], wo = dy.shape[2]
    cdef Py_ssize_t K = kh * kw * C, M = N * ho * wo, KF = K * F
    cdef Py_ssize_t chunk = chunk_rows(K), nch = (M + chunk - 1) // chunk
    cdef Py_ssize_t G = min(nch, GRAD_GROUPS), g, i
    # the same number of chunks in every group (balanced threads): shrink the chunk so that
    # nch is a multiple of G
    nch = (nch + G - 1) // G * G
    chunk = (M + nch - 1) // nch
    nch = (M + chunk - 1) // chunk
    cdef int nthr = openmp.omp_get_max_threads()
    dt = np.asarray(dw).dtype
    cdef real[:, ::1] scratch = np.empty((nthr, min(chunk, M) * K), dtype=dt)
    cdef real[:, ::1] parts = np.empty((G, KF), dtype=dt)
    cdef real *sp = &scratch[0, 0]
    cdef real *pp = &parts[0, 0]
    cdef real *dwp = &dw[0, 0, 0, 0]
    cdef real acc
    with nogil:
        for g in prange(G, schedule="dynamic", num_threads=nthr):
            filter_grad_group(&x[0, 0, 0, 0], &dy[0, 0, 0, 0], pp + g * KF,
                              sp + threadid() * min(chunk, M) * K, g, G, nch, chunk, M, H, W,
                              C, F, ho, wo, kh, kw, sh, sw, top, left)
        for i in prange(KF, schedule="static"):
            acc = pp[i]
            for g in range(1, G):
                acc = acc + pp[g * KF + i]
            dwp[i] = acc


def conv_backward(const real[:, :, :, ::1] x, const real[:, :, :, ::1] w,
                  const real[:, :, :, ::1] dy, real[:, :, :, ::1] dx, real[:, :, :, ::1] dw,
                  real[::1] db, int sh, int sw, int top, int left):
    """``db = sum dy``, ``dw`` by :func:`conv_filter_grad`, and ``dx``: for stride 1 the
    forward convolution of ``dy`` with the flipped, transposed kernel
    ``w'[p, q, f, c] = w[kh-1-p, kw-1-q, c, f]`` padded ``kh-1-top`` / ``kw-1-left`` (the
    same sums as ``col2im(dy w^T)``, run by the cache-blocked :func:`conv_forward`);
    otherwise ``col2im(dy w^T)`` a block of output rows at a time, so that ``dcols`` is
    never materialised whole. ``dx`` must be zero on entry.

    Measured on 1x128x128x64, 3x3, 64->64 (2-core AVX-512 machine): the block-of-rows
    im2col for ``dw`` and col2im for ``dx`` moved ~33 MB buffers through memory three times;
    this runs in L2-sized chunks.
    """
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t kh = w.shape[0], kw = w.shape[1], F = w.shape[3]
    cdef Py_ssize_t ho = dy.shape[1], wo = dy.shape[2]
    cdef Py_ssize_t K = kh * kw * C, R = N * ho
    cdef Py_ssize_t rb, g0, g1, t, n, i_lo, i_hi, r_lo, r_hi, nt
    dt = np.asarray(dw).dtype
    cdef real[:, ::1] dcols
    cdef Py_ssize_t[:, ::1] tasks
    cdef real *dcolp
    column_sum(np.asarray(dy).reshape(-1, F), db)
    conv_filter_grad(x, dy, dw, sh, sw, top, left)
    if sh == 1 and sw == 1:
        wt = np.ascontiguousarray(np.asarray(w)[::-1, ::-1].transpose(0, 1, 3, 2))
        conv_forward(dy, wt, np.zeros(1, dtype=dt), False, dx, 1, 1, kh - 1 - top,
                     kw - 1 - left)
        return
    rb = min(block_rows(wo * K), R)
    dcols = np.empty((rb * wo, K), dtype=dt)
    dcolp = &dcols[0, 0]
    for g0 in range(0, R, rb):
        g1 = min(g0 + rb, R)
        # (n, input row, first/last output row of this block) for every input row it touches
        rows = []
        for n in range(g0 // ho, (g1 - 1) // ho + 1):
            i_lo = max(g0 - n * ho, 0)
            i_hi = min(g1 - n * ho, ho)
            r_lo = max(i_lo * sh - top, 0)
            r_hi = min((i_hi - 1) * sh + kh - top, H)
            rows.extend([(n, r, i_lo, i_hi) for r in range(r_lo, r_hi)])
        nt = len(rows)
        tasks = np.array(rows, dtype=np.intp).reshape(nt, 4) if nt else np.zeros((1, 4), np.intp)
        with nogil:
            gemm_rows_bt(&dy[0, 0, 0, 0] + g0 * wo * F, &w[0, 0, 0, 0], dcolp, (g1 - g0) * wo,
                         F, K, chunk_rows(K))
            for t in prange(nt, schedule="static"):
                col2im_row(&dx[0, 0, 0, 0], dcolp, tasks[t, 0], tasks[t, 1], tasks[t, 2],
                           tasks[t, 3], g0, H, W, C, ho, wo, kh, kw, sh, sw, top, left)


# -- Winograd F(2x2, 3x3) -------------------------------------------------------------------

def winograd_filter(const real[:, :, :, ::1] w, real[:, :, ::1] u):
    """``U = G g G^T`` for every (c, f): ``u[4 a + b, c, f]``."""
    cdef Py_ssize_t C = w.shape[2], F = w.shape[3], c, f
    with nogil:
        for c in prange(C, schedule="static"):
            for f in range(F):
                winograd_filter_one(w, u, c, f)


cdef inline void winograd_filter_one(const real[:, :, :, ::1] w, real[:, :, ::1] u,
                                     Py_ssize_t c, Py_ssize_t f) noexcept nogil:
    cdef real t[4][3]
    cdef real half = 0.5
    cdef Py_ssize_t k
    for k in range(3):  # t = G g (G rows: [1,0,0], [.5,.5,.5], [.5,-.5,.5], [0,0,1])
        t[0][k] = w[0, k, c, f]
        t[1][k] = half * (w[0, k, c, f] + w[1, k, c, f] + w[2, k, c, f])
        t[2][k] = half * (w[0, k, c, f] - w[1, k, c, f] + w[2, k, c, f])
        t[3][k] = w[2, k, c, f]
    for k in range(4):  # U = t G^T
        u[4 * k + 0, c, f] = t[k][0]
        u[4 * k + 1, c, f] = half * (t[k][0] + t[k][1] + t[k][2])
        u[4 * k + 2, c, f] = half * (t[k][0] - t[k][1] + t[k][2])
        u[4 * k + 3, c, f] = t[k][2]


cdef double GI4[6][3]
GI4[0][:] = [6, 0, 0]
GI4[1][:] = [-4, -4, -4]
GI4[2][:] = [-4, 4, -4]
GI4[3][:] = [1, 2, 4]
GI4[4][:] = [1, -2, 4]
GI4[5][:] = [0, 0, 24]


def winograd4_filter(const real[:, :, :, ::1] w, real[:, :, ::1] u):
    """F(4x4, 3x3) ``U = G g G^T`` for every (c, f): ``u[6 a + b, c, f]``, in float64 with
    ``G = GI4 / 24`` and the sums in :func:`backends.winograd.filter_transform`'s order (no
    FMA: built with -ffp-contract=off), so the bits equal it."""
    cdef Py_ssize_t C = w.shape[2], F = w.shape[3], c
    if C == 0 or F == 0:
        return
    with nogil:
        for c in prange(C, schedule="static"):
            winograd4_filter_row(&w[0, 0, c, 0], &u[0, c, 0], C * F, F)


cdef enum:
    FB = 64  # filters per chunk of the filter transform: its locals stay in L1


cdef void winograd4_filter_row(const real *w, real *u, Py_ssize_t CF,
                               Py_ssize_t F) noexcept nogil:
    """One input channel, all F filters, FB at a time: the 9 input and 36 output rows are
    CF elements apart (a multiple of 4 KiB for 256x256), so they share cache sets; read
    and written in runs of FB through local arrays, each cache line is touched once (17 ms
    per 256x256 layer element by element, 1 thread). The 3x3, 6x3 and 6x6 loops unroll
    and ``j`` vectorises; the sums are those of the element-wise version."""
    cdef double gi[6][3]
    cdef double g[9][FB]
    cdef double t[18][FB]
    cdef real o[36][FB]
    cdef Py_ssize_t f0, n, j, a, b, q
    for a in range(6):
        for q in range(3):
            gi[a][q] = GI4[a][q]
    f0 = 0
    while f0 < F:
        n = min(<Py_ssize_t>FB, F - f0)
        for a in range(9):
            for j in range(n):
                g[a][j] = w[a * CF + f0 + j]
        for a in range(6):
            for q in range(3):
                for j in range(n):
                    t[3 * a + q][j] = ((gi[a][0] * g[q][j] + gi[a][1] * g[3 + q][j])
                                       + gi[a][2] * g[6 + q][j])
        for a in range(6):
            for b in range(6):
                for j in range(n):
                    o[6 * a + b][j] = <real>(((t[3 * a][j] * gi[b][0]
                                               + t[3 * a + 1][j] * gi[b][1])
                                              + t[3 * a + 2][j] * gi[b][2]) / 576.0)
        for a in range(36):
            memcpy(u + a * CF + f0, &o[a][0], n * sizeof(real))
        f0 += n


cdef enum:
    CB = 64  # channels per inner chunk: 16 x CB scratch stays in L1, loops vectorise


cdef inline void winograd_input_tile(const real *x, const real *zeros, real *v, Py_ssize_t t,
                                     Py_ssize_t T, Py_ssize_t tile, Py_ssize_t th,
                                     Py_ssize_t tw, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                                     Py_ssize_t top, Py_ssize_t left) noexcept nogil:
    """``V = B^T d B`` of one 4x4 input tile, all channels: ``v[k, t, c]`` (k = 4 a + b).

    B^T rows: [1,0,-1,0], [0,1,1,0], [0,-1,1,0], [0,1,0,-1]. Channels go through local
    buffers so that the compiler sees no aliasing and vectorises over c.
    """
    cdef const real *src[16]
    cdef Py_ssize_t n = tile // (th * tw)
    cdef Py_ssize_t rem = tile - n * th * tw
    cdef Py_ssize_t r0 = 2 * (rem // tw) - top
    cdef Py_ssize_t c0 = 2 * (rem % tw) - left
    cdef Py_ssize_t a, b, r, col, c, k, cs, nc
    cdef real d[16][CB]
    cdef real e[16][CB]
    cdef real o[16][CB]
    for a in range(4):
        r = r0 + a
        for b in range(4):
            col = c0 + b
            if r < 0 or r >= H or col < 0 or col >= W:
                src[4 * a + b] = zeros
            else:
                src[4 * a + b] = x + ((n * H + r) * W + col) * C
    for cs in range((C + CB - 1) // CB):
        cs = cs * CB
        nc = min(CB, C - cs)
        for k in range(16):
            memcpy(&d[k][0], src[k] + cs, nc * sizeof(real))
        for b in range(4):  # e = B^T d, row by row
            for c in range(nc):
                e[b][c] = d[b][c] - d[8 + b][c]
                e[4 + b][c] = d[4 + b][c] + d[8 + b][c]
                e[8 + b][c] = d[8 + b][c] - d[4 + b][c]
                e[12 + b][c] = d[4 + b][c] - d[12 + b][c]
        for a in range(4):  # V = e B, column by column
            for c in range(nc):
                o[4 * a][c] = e[4 * a][c] - e[4 * a + 2][c]
                o[4 * a + 1][c] = e[4 * a + 1][c] + e[4 * a + 2][c]
                o[4 * a + 2][c] = e[4 * a + 2][c] - e[4 * a + 1][c]
                o[4 * a + 3][c] = e[4 * a + 1][c] - e[4 * a + 3][c]
        for k in range(16):
            memcpy(v + (k * T + t) * C + cs, &o[k][0], nc * sizeof(real))


cdef inline void winograd_output_tile(const real *mm, real *y, const real *b,
                                      const real *res, Epilogue ep, Py_ssize_t t, Py_ssize_t T, Py_ssize_t tile,
                                      Py_ssize_t th, Py_ssize_t tw, Py_ssize_t ho,
                                      Py_ssize_t wo, Py_ssize_t F) noexcept nogil:
    """``Y = A^T M A`` (A^T rows: [1,1,1,0], [0,1,-1,-1]) plus the epilogue (bias, ReLU,
    residual, as :func:`finish_rows`); the 2x2 outputs are cropped to the image."""
    cdef Py_ssize_t n = tile // (th * tw)
    cdef Py_ssize_t rem = tile - n * th * tw
    cdef Py_ssize_t i0 = 2 * (rem // tw), j0 = 2 * (rem % tw)
    cdef Py_ssize_t f, a, k, fs, nf, pos
    cdef real v, al = <real>ep.alpha, be = <real>ep.beta
    cdef real m[16][CB]
    cdef real s[8][CB]
    cdef real out[4][CB]
    for fs in range((F + CB - 1) // CB):
        fs = fs * CB
        nf = min(CB, F - fs)
        for k in range(16):
            memcpy(&m[k][0], mm + (k * T + t) * F + fs, nf * sizeof(real))
        for k in range(4):
            for f in range(nf):
                s[k][f] = m[k][f] + m[4 + k][f] + m[8 + k][f]
                s[4 + k][f] = m[4 + k][f] - m[8 + k][f] - m[12 + k][f]
        for a in range(2):
            for f in range(nf):
                out[2 * a][f] = s[4 * a][f] + s[4 * a + 1][f] + s[4 * a + 2][f]
                out[2 * a + 1][f] = s[4 * a + 1][f] - s[4 * a + 2][f] - s[4 * a + 3][f]
        if ep.has_bias:
            for k in range(4):
                for f in range(nf):
                    out[k][f] = out[k][f] + b[fs + f]
        if ep.relu:
            for k in range(4):
                for f in range(nf):
                    v = out[k][f]
                    out[k][f] = v if v > 0 else 0
        if ep.has_res:
            for k in range(4):
                if i0 + k // 2 < ho and j0 + k % 2 < wo:
                    pos = ((n * ho + i0 + k // 2) * wo + j0 + k % 2) * F + fs
                    for f in range(nf):
                        out[k][f] = al * out[k][f] + be * res[pos + f]
        for a in range(2):
            if i0 + a < ho:
                memcpy(y + ((n * ho + i0 + a) * wo + j0) * F + fs, &out[2 * a][0],
                       nf * sizeof(real))
                if j0 + 1 < wo:
                    memcpy(y + ((n * ho + i0 + a) * wo + j0 + 1) * F + fs, &out[2 * a + 1][0],
                           nf * sizeof(real))


# -- dense ----------------------------------------------------------------------------------

def dense_forward(const real[:, ::1] x, const real[:, ::1] w, const real[::1] b, bint has_bias,
                  real[:, ::1] y):
    """``y = x w + b`` for x (N, K), w (K, U)."""
    cdef int N = x.shape[0], K = x.shape[1], U = w.shape[1]
    with nogil:
        gemm_rows(&x[0, 0], &w[0, 0], &y[0, 0], N, K, U, chunk_rows(K))
        if has_bias:
            add_bias(&y[0, 0], &b[0], N, U)


def dense_backward(const real[:, ::1] x, const real[:, ::1] w, const real[:, ::1] dy,
                   real[:, ::1] dx, real[:, ::1] dw, real[::1] db):
    """``dx = dy w^T``, ``dw = x^T dy``, ``db = sum_n dy``."""
    cdef int N = x.shape[0], K = x.shape[1], U = w.shape[1]
    with nogil:
        gemm_rows_bt(&dy[0, 0], &w[0, 0], &dx[0, 0], N, U, K, chunk_rows(U))
        gemm_at_b(&x[0, 0], &dy[0, 0], &dw[0, 0], N, K, U, 0, 64)
    column_sum(dy, db)


# -- Winograd F(4x4, 3x3) -------------------------------------------------------------------
# Lavin & Gray (2016), interpolation points 0, 1, -1, 2, -2 (and infinity): each 4x4 output
# tile from a 6x6 input tile, 36 GEMMs over the channels, 4x fewer multiplies than direct
# 3x3 (F(2x2, 3x3): 2.25x). The filter transform U = G g G^T is done once per weights, in
# float64 (``conv.winograd4_filter``), so only the input and output transforms round in the
# working precision.

# -- Winograd F(4x4, 3x3) transforms in C ---------------------------------------------------
# The 1-D transforms written out with shared subexpressions (Lavin & Gray 2016), 13 adds and
# 4 exact scalings per 6 inputs instead of a loop over the 6x6 coefficient tables (22
# multiply-adds, each a pass through L1): profiled on EDSR-baseline x2 (cython, 1 thread)
# the table loops were 4.5 of 6.7 s, the GEMMs 1.7 s. In C so that ``restrict`` tells the
# compiler the channel loops do not alias (they vectorise), and with ``target_clones`` so
# that the loops run 8 or 16 wide where the CPU has AVX2 / AVX-512 without a
# ``-march=native`` build. Element-wise operations only, no FMA (``-ffp-contract=off``):
# every clone rounds identically, so the ISA changes the speed, not the bits.
cdef extern from *:
    """
    #include <stddef.h>
    #if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
    #define LB_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
    #else
    #define LB_CLONES
    #endif
    /* The rows a 1-D transform writes never overlap (row strides >= the run), but GCC does
       not take `restrict` on block-scope pointers: it versions the loop with one alias check
       per pair of the 6 rows written, too many (> 10), and ran the V = e B pass scalar,
       3x slower. */
    #if defined(__GNUC__) && !defined(__clang__)
    #define LB_IVDEP _Pragma("GCC ivdep")
    #else
    #define LB_IVDEP
    #endif
    #define LB_CB 64

    /* o_i = sum_j B^T[i][j] d_j over channels [0, n) (pointers d0..d5, o0..o5): 1-D F(4x4)
       input transform with shared subexpressions. */
    #define LB_BT6(T, d, o, n)                                                              \\
        LB_IVDEP for (ptrdiff_t c = 0; c < (n); c++) {                                      \\
            T p = d##4[c] - 4 * d##2[c], q = d##3[c] - 4 * d##1[c];                         \\
            T r = d##4[c] - d##2[c], s = 2 * (d##3[c] - d##1[c]);                           \\
            o##0[c] = (4 * d##0[c] - 5 * d##2[c]) + d##4[c];                                \\
            o##1[c] = p + q;                                                                \\
            o##2[c] = p - q;                                                                \\
            o##3[c] = r + s;                                                                \\
            o##4[c] = r - s;                                                                \\
            o##5[c] = (4 * d##1[c] - 5 * d##3[c]) + d##5[c];                                \\
        }

    /* o_i = sum_j A^T[i][j] m_j (i < 4) over channels [0, n): 1-D F(4x4) output transform. */
    #define LB_AT6(T, m, o, n)                                                              \\
        LB_IVDEP for (ptrdiff_t f = 0; f < (n); f++) {                                      \\
            T p = m##1[f] + m##2[f], q = m##1[f] - m##2[f];                                 \\
            T r = m##3[f] + m##4[f], t = m##3[f] - m##4[f];                                 \\
            o##0[f] = (m##0[f] + p) + r;                                                    \\
            o##1[f] = q + 2 * t;                                                            \\
            o##2[f] = p + 4 * r;                                                            \\
            o##3[f] = (q + 8 * t) + m##5[f];                                                \\
        }

    /* V = B^T d B of one 6x6 tile, channels [0, nc): src[6 a + b] points at input pixel
       (a, b) (or zeros), v + k * vs is row k = 6 a + b of the result. B^T rows:
       [4,0,-5,0,1,0] [0,-4,-4,1,1,0] [0,4,-4,-1,1,0] [0,-2,-1,2,1,0] [0,2,-1,-2,1,0]
       [0,4,0,-5,0,1]. */
    #define LB_WG4_IN(T, NAME)                                                              \\
    static inline __attribute__((always_inline)) void NAME##_body(                          \\
            const T *const *src, T *v, ptrdiff_t vs, ptrdiff_t nc) {                        \\
        T e[36][LB_CB];                                                                     \\
        for (int b = 0; b < 6; b++) {  /* e = B^T d, column b */                            \\
            const T *restrict d0 = src[b], *restrict d1 = src[6 + b];                       \\
            const T *restrict d2 = src[12 + b], *restrict d3 = src[18 + b];                 \\
            const T *restrict d4 = src[24 + b], *restrict d5 = src[30 + b];                 \\
            T *restrict e0 = e[b], *restrict e1 = e[6 + b], *restrict e2 = e[12 + b];       \\
            T *restrict e3 = e[18 + b], *restrict e4 = e[24 + b], *restrict e5 = e[30 + b]; \\
            LB_BT6(T, d, e, nc)                                                             \\
        }                                                                                   \\
        for (int a = 0; a < 6; a++) {  /* V = e B, row a */                                 \\
            const T *restrict d0 = e[6 * a], *restrict d1 = e[6 * a + 1];                   \\
            const T *restrict d2 = e[6 * a + 2], *restrict d3 = e[6 * a + 3];               \\
            const T *restrict d4 = e[6 * a + 4], *restrict d5 = e[6 * a + 5];               \\
            T *restrict v0 = v + (6 * a) * vs, *restrict v1 = v + (6 * a + 1) * vs;         \\
            T *restrict v2 = v + (6 * a + 2) * vs, *restrict v3 = v + (6 * a + 3) * vs;     \\
            T *restrict v4 = v + (6 * a + 4) * vs, *restrict v5 = v + (6 * a + 5) * vs;     \\
            LB_BT6(T, d, v, nc)                                                             \\
        }                                                                                   \\
    }

    /* Y = A^T M A of one tile, channels [0, nf), then the epilogue y = al relu?(y + bias)
       + be res (each step only if its flag / pointer is set), in the order of the unfused
       layers: m + k * ms is row k = 6 a + b of M; y[4 i + j] the output pixel (i, j) or NULL
       (cropped), res[4 i + j] its residual. A^T rows: [1,1,1,1,1,0] [0,1,-1,2,-2,0]
       [0,1,1,4,4,0] [0,1,-1,8,-8,1]. */
    #define LB_WG4_OUT(T, NAME)                                                             \\
    static inline __attribute__((always_inline)) void NAME##_body(                          \\
            const T *m, ptrdiff_t ms, T *const *y, const T *const *res, const T *bias,        \\
            int relu, int has_res, T al, T be, ptrdiff_t nf) {                              \\
        T s[24][LB_CB], o[4][LB_CB];                                                        \\
        for (int a = 0; a < 6; a++) {  /* s = A^T M, column a */                            \\
            const T *restrict m0 = m + a * ms, *restrict m1 = m + (6 + a) * ms;             \\
            const T *restrict m2 = m + (12 + a) * ms, *restrict m3 = m + (18 + a) * ms;     \\
            const T *restrict m4 = m + (24 + a) * ms, *restrict m5 = m + (30 + a) * ms;     \\
            T *restrict s0 = s[a], *restrict s1 = s[6 + a];                                 \\
            T *restrict s2 = s[12 + a], *restrict s3 = s[18 + a];                           \\
            LB_AT6(T, m, s, nf)                                                             \\
        }                                                                                   \\
        for (int i = 0; i < 4; i++) {  /* Y = s A, row i, then the epilogue */              \\
            const T *restrict m0 = s[6 * i], *restrict m1 = s[6 * i + 1];                   \\
            const T *restrict m2 = s[6 * i + 2], *restrict m3 = s[6 * i + 3];               \\
            const T *restrict m4 = s[6 * i + 4], *restrict m5 = s[6 * i + 5];               \\
            T *restrict o0 = o[0], *restrict o1 = o[1], *restrict o2 = o[2];                \\
            T *restrict o3 = o[3];                                                          \\
            LB_AT6(T, m, o, nf)                                                             \\
            for (int j = 0; j < 4; j++) {                                                   \\
                T *restrict yo = y[4 * i + j];                                              \\
                T *restrict oj = o[j];                                                      \\
                if (yo == NULL) continue;                                                   \\
                if (bias != NULL && relu) {                                                 \\
                    for (ptrdiff_t f = 0; f < nf; f++) {                                    \\
                        T v = oj[f] + bias[f];                                              \\
                        oj[f] = v > 0 ? v : 0;                                              \\
                    }                                                                       \\
                } else if (bias != NULL) {                                                  \\
                    for (ptrdiff_t f = 0; f < nf; f++) oj[f] = oj[f] + bias[f];             \\
                } else if (relu) {                                                          \\
                    for (ptrdiff_t f = 0; f < nf; f++) oj[f] = oj[f] > 0 ? oj[f] : 0;       \\
                }                                                                           \\
                if (has_res) {                                                              \\
                    const T *restrict rs = res[4 * i + j];                                  \\
                    for (ptrdiff_t f = 0; f < nf; f++) yo[f] = al * oj[f] + be * rs[f];     \\
                } else {                                                                    \\
                    for (ptrdiff_t f = 0; f < nf; f++) yo[f] = oj[f];                       \\
                }                                                                           \\
            }                                                                               \\
        }                                                                                   \\
    }

    /* The common channel runs (64, 32) as constants: their loops unroll without remainders. */
    #define LB_WG4_IN_CLONES(T, NAME)                                                       \\
    LB_CLONES static void NAME(const T *const *src, T *v, ptrdiff_t vs, ptrdiff_t nc) {    \\
        if (nc == LB_CB) NAME##_body(src, v, vs, LB_CB);                                    \\
        else if (nc == LB_CB / 2) NAME##_body(src, v, vs, LB_CB / 2);                       \\
        else NAME##_body(src, v, vs, nc);                                                   \\
    }
    #define LB_WG4_OUT_CLONES(T, NAME)                                                      \\
    LB_CLONES static void NAME(const T *m, ptrdiff_t ms, T *const *y, const T *const *res,   \\
                               const T *bias, int relu, int has_res, T al, T be,             \\
                               ptrdiff_t nf) {                                              \\
        if (nf == LB_CB) NAME##_body(m, ms, y, res, bias, relu, has_res, al, be, LB_CB);    \\
        else if (nf == LB_CB / 2)                                                           \\
            NAME##_body(m, ms, y, res, bias, relu, has_res, al, be, LB_CB / 2);             \\
        else NAME##_body(m, ms, y, res, bias, relu, has_res, al, be, nf);                   \\
    }

    LB_WG4_IN(float, lb_wg4_in_f) LB_WG4_IN_CLONES(float, lb_wg4_in_f)
    LB_WG4_IN(double, lb_wg4_in_d) LB_WG4_IN_CLONES(double, lb_wg4_in_d)
    LB_WG4_OUT(float, lb_wg4_out_f) LB_WG4_OUT_CLONES(float, lb_wg4_out_f)
    LB_WG4_OUT(double, lb_wg4_out_d) LB_WG4_OUT_CLONES(double, lb_wg4_out_d)
    """
    void lb_wg4_in_f(const float **src, float *v, Py_ssize_t vs, Py_ssize_t nc) noexcept nogil
    void lb_wg4_in_d(const double **src, double *v, Py_ssize_t vs, Py_ssize_t nc) noexcept nogil
    void lb_wg4_out_f(const float *m, Py_ssize_t ms, float **y, const float **res,
                      const float *bias, int relu, int has_res, float al, float be,
                      Py_ssize_t nf) noexcept nogil
    void lb_wg4_out_d(const double *m, Py_ssize_t ms, double **y, const double **res,
                      const double *bias, int relu, int has_res, double al, double be,
                      Py_ssize_t nf) noexcept nogil


cdef inline void winograd4_input_tile(const real *x, const real *zeros, real *v, Py_ssize_t t,
                                      Py_ssize_t T, Py_ssize_t tile, Py_ssize_t th,
                                      Py_ssize_t tw, Py_ssize_t H, Py_ssize_t W, Py_ssize_t C,
                                      Py_ssize_t top, Py_ssize_t left) noexcept nogil:
    """``V = B^T d B`` of one 6x6 input tile, all channels: ``v[t, k, c]`` (k = 6 a + b)."""
    cdef const real *src[36]
    cdef const real *blk[36]
    cdef Py_ssize_t n = tile // (th * tw)
    cdef Py_ssize_t rem = tile - n * th * tw
    cdef Py_ssize_t r0 = 4 * (rem // tw) - top
    cdef Py_ssize_t c0 = 4 * (rem % tw) - left
    cdef Py_ssize_t a, b, r, col, k, cs
    for a in range(6):
        r = r0 + a
        for b in range(6):
            col = c0 + b
            if r < 0 or r >= H or col < 0 or col >= W:
                src[6 * a + b] = zeros
            else:
                src[6 * a + b] = x + ((n * H + r) * W + col) * C
    for cs in range((C + CB - 1) // CB):
        cs = cs * CB
        for k in range(36):
            blk[k] = src[k] + cs
        if real is float:
            lb_wg4_in_f(<const float **>blk, v + t * 36 * C + cs, C, min(CB, C - cs))
        else:
            lb_wg4_in_d(<const double **>blk, v + t * 36 * C + cs, C, min(CB, C - cs))


cdef inline void winograd4_output_tile(const real *mm, real *y, const real *b, const real *res,
                                       Epilogue ep, Py_ssize_t t, Py_ssize_t T,
                                       Py_ssize_t tile, Py_ssize_t th, Py_ssize_t tw,
                                       Py_ssize_t ho, Py_ssize_t wo,
                                       Py_ssize_t F) noexcept nogil:
    """``Y = A^T M A`` of one tile plus the epilogue (as :func:`finish_rows`), cropped to the
    image."""
    cdef Py_ssize_t n = tile // (th * tw)
    cdef Py_ssize_t rem = tile - n * th * tw
    cdef Py_ssize_t i0 = 4 * (rem // tw), j0 = 4 * (rem % tw)
    cdef Py_ssize_t k, fs, pos
    cdef real *dst[16]
    cdef const real *rsd[16]
    for fs in range((F + CB - 1) // CB):
        fs = fs * CB
        for k in range(16):
            dst[k] = NULL
            rsd[k] = NULL
            if i0 + k // 4 < ho and j0 + k % 4 < wo:
                pos = ((n * ho + i0 + k // 4) * wo + j0 + k % 4) * F + fs
                dst[k] = y + pos
                if ep.has_res:
                    rsd[k] = res + pos
        if real is float:
            lb_wg4_out_f(mm + t * 36 * F + fs, F, <float **>dst, <const float **>rsd,
                         b + fs if ep.has_bias else NULL, ep.relu, ep.has_res,
                         <float>ep.alpha, <float>ep.beta, min(CB, F - fs))
        else:
            lb_wg4_out_d(mm + t * 36 * F + fs, F, <double **>dst, <const double **>rsd,
                         b + fs if ep.has_bias else NULL, ep.relu, ep.has_res, ep.alpha,
                         ep.beta, min(CB, F - fs))


# -- Winograd drivers (F(2x2, 3x3) and F(4x4, 3x3)) -----------------------------------------

cdef void winograd_chunk(int m, const real *x, const real *zeros, const real *u,
                         const real *b, const real *res, Epilogue ep, real *y, real *vp,
                         real *mp, Py_ssize_t t0, Py_ssize_t nb, Py_ssize_t th, Py_ssize_t tw,
                         Py_ssize_t H, Py_ssize_t W, Py_ssize_t C, Py_ssize_t F,
                         Py_ssize_t ho, Py_ssize_t wo, Py_ssize_t top,
                         Py_ssize_t left) noexcept nogil:
    """Tiles [t0, t0 + nb) of F(m x m, 3x3) in this thread's buffers: input transform,
    ``(m + 2)^2`` GEMMs ``M_k = V_k U_k`` over the channels, output transform + epilogue."""
    cdef Py_ssize_t t, k, t2 = (m + 2) * (m + 2)
    cdef double c0 = openmp.omp_get_wtime() if PROFILING else 0
    for t in range(nb):
        if m == 2:
            winograd_input_tile(x, zeros, vp, t, nb, t0 + t, th, tw, H, W, C, top, left)
        else:
            winograd4_input_tile(x, zeros, vp, t, nb, t0 + t, th, tw, H, W, C, top, left)
    if PROFILING:
        c0 = tick(c0, 0)
    # F(2x2): V[k, t, c], M[k, t, f]; F(4x4): V[t, k, c], M[t, k, f] (a tile's transforms
    # read and write one contiguous block)
    cdef Py_ssize_t vk = nb * C if m == 2 else C, va = C if m == 2 else t2 * C
    cdef Py_ssize_t mk = nb * F if m == 2 else F, ma = F if m == 2 else t2 * F
    for k in range(t2):
        gemm_nn(nb, F, C, vp + k * vk, va, u + k * C * F, F, mp + k * mk, ma)
    if PROFILING:
        c0 = tick(c0, 1)
    for t in range(nb):
        if m == 2:
            winograd_output_tile(mp, y, b, res, ep, t, nb, t0 + t, th, tw, ho, wo, F)
        else:
            winograd4_output_tile(mp, y, b, res, ep, t, nb, t0 + t, th, tw, ho, wo, F)
    if PROFILING:
        tick(c0, 2)


cdef winograd_run(int m, const real[:, :, :, ::1] x, const real[:, :, ::1] u,
                  const real[::1] b, bint has_bias, real[:, :, :, ::1] y, int top, int left,
                  bint relu, const real[::1] res, double alpha, double beta):
    """Chunks of tiles in parallel (per-thread buffers ``V``, ``M``); the chunk size
    depends on m, C and F only, so the same GEMMs run whatever the thread count."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t F = u.shape[2], ho = y.shape[1], wo = y.shape[2], t2 = (m + 2) * (m + 2)
    cdef Py_ssize_t th = (ho + m - 1) // m, tw = (wo + m - 1) // m, ntiles = N * th * tw
    cdef Py_ssize_t lo = 16 if m == 2 else 8, hi = 512 if m == 2 else 256
    cdef Py_ssize_t want = WINOGRAD_ELEMS // (t2 * (C + F))
    if m == 4:
        want = WINOGRAD4_TILES if WINOGRAD4_TILES > 0 else chunk_tiles(C, F)
    cdef Py_ssize_t T = min(max(lo, min(hi, want)), ntiles)
    cdef Py_ssize_t nch = (ntiles + T - 1) // T, ch
    cdef int nthr = openmp.omp_get_max_threads()
    dt = np.asarray(y).dtype
    # from the network's pool: fresh per layer, these MBs are page faults (backends.buffers)
    cdef real[:, ::1] vbuf = buffers.empty((nthr, t2 * T * C), dt)
    cdef real[:, ::1] mbuf = buffers.empty((nthr, t2 * T * F), dt)
    cdef real[::1] zeros = np.zeros(C, dtype=dt)
    cdef real *vp = &vbuf[0, 0]
    cdef real *mp = &mbuf[0, 0]
    cdef Epilogue ep = epilogue(has_bias, relu, res is not None, alpha, beta)
    cdef const real *rp = &res[0] if res is not None else NULL
    with nogil:
        for ch in prange(nch, schedule="dynamic", num_threads=nthr):
            winograd_chunk(m, &x[0, 0, 0, 0], &zeros[0], &u[0, 0, 0], &b[0], rp, ep,
                           &y[0, 0, 0, 0], vp + threadid() * t2 * T * C,
                           mp + threadid() * t2 * T * F, ch * T, min(T, ntiles - ch * T),
                           th, tw, H, W, C, F, ho, wo, top, left)


def winograd_forward(const real[:, :, :, ::1] x, const real[:, :, ::1] u, const real[::1] b,
                     bint has_bias, real[:, :, :, ::1] y, int top, int left,
                     bint relu=False, const real[::1] res=None, double alpha=1, double beta=1):
    """3x3 stride-1 convolution by Winograd F(2x2, 3x3) (``u``: (16, C, F) transformed
    filters), fused per chunk of 2x2 output tiles: input transform, 16 GEMMs, output
    transform plus the epilogue of :func:`conv_forward`."""
    winograd_run(2, x, u, b, has_bias, y, top, left, relu, res, alpha, beta)


def winograd4_forward(const real[:, :, :, ::1] x, const real[:, :, ::1] u, const real[::1] b,
                      bint has_bias, real[:, :, :, ::1] y, int top, int left,
                      bint relu=False, const real[::1] res=None, double alpha=1,
                      double beta=1):
    """3x3 stride-1 convolution by Winograd F(4x4, 3x3) (``u``: (36, C, F) transformed
    filters), fused per chunk of 4x4 output tiles like :func:`winograd_forward`."""
    winograd_run(4, x, u, b, has_bias, y, top, left, relu, res, alpha, beta)
