"""Element-wise kernels: the 17 activations, shortcut, nearest upsampling, losses and the
optimizer steps (inputs validated by the wrappers of the same name without underscore).

Transcendentals are evaluated in double and rounded once to the array type. Every ``prange``
writes disjoint elements; the one reduction (the loss sum) adds fixed-size chunks in a fixed
order, so results do not depend on the thread count.
"""

import numpy as np

from cython.parallel cimport prange
from libc.math cimport exp, expm1, fabs, log1p, sqrt, tanh

ctypedef fused real:
    float
    double

cdef Py_ssize_t SUM_CHUNK = 4096

# Constants of backends/activations.py, set once by activation.py (one source of truth).
cdef double LEAKY = 0.1, RELIE = 0.01, LHTAN = 0.001, PLSE = 0.01
cdef double SELU_ALPHA = 1.0, SELU_SCALE = 1.0, ELLIOT_S = 1.0

# Kind codes, in the order of backends.activations.ACTIVATIONS.
KINDS = ("linear", "logistic", "loggy", "relu", "elu", "relie", "ramp", "tanh", "plse",
         "leaky", "hardtan", "lhtan", "selu", "softplus", "softsign", "elliot", "symm_elliot")


def set_constants(double leaky, double relie, double lhtan, double plse, double selu_alpha,
                  double selu_scale, double elliot_s):
    global LEAKY, RELIE, LHTAN, PLSE, SELU_ALPHA, SELU_SCALE, ELLIOT_S
    LEAKY, RELIE, LHTAN, PLSE = leaky, relie, lhtan, plse
    SELU_ALPHA, SELU_SCALE, ELLIOT_S = selu_alpha, selu_scale, elliot_s


cdef inline double sigmoid(double x) noexcept nogil:
    # exp of a non-positive argument only: no overflow for large |x|
    cdef double e = exp(-fabs(x))
    return 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)


cdef inline double act_f(double x, int kind) noexcept nogil:
    cdef double s
    if kind == 0:
        return x
    if kind == 1:
        return sigmoid(x)
    if kind == 2:
        return 2.0 * sigmoid(x) - 1.0
    if kind == 3:
        return 0.0 if x <= 0 else x          # NaN passes through, as np.maximum
    if kind == 4:
        return x if x >= 0 else expm1(x)
    if kind == 5:
        return x if x > 0 else RELIE * x
    if kind == 6:
        return (0.0 if x <= 0 else x) + 0.1 * x
    if kind == 7:
        return tanh(x)
    if kind == 8:
        if x < -4:
            return PLSE * (x + 4)
        if x > 4:
            return PLSE * (x - 4) + 1
        return 0.125 * x + 0.5
    if kind == 9:
        return x if x > 0 else LEAKY * x
    if kind == 10:
        return -1.0 if x < -1 else (1.0 if x > 1 else x)
    if kind == 11:
        if x < 0:
            return LHTAN * x
        if x > 1:
            return LHTAN * (x - 1) + 1
        return x
    if kind == 12:
        return SELU_SCALE * x if x > 0 else SELU_SCALE * SELU_ALPHA * expm1(x)
    if kind == 13:
        return (x if x > 0 else 0.0) + log1p(exp(-fabs(x)))
    if kind == 14:
        return x / (1 + fabs(x))
    if kind == 15:
        return 0.5 * ELLIOT_S * x / (1 + fabs(ELLIOT_S * x)) + 0.5
    return ELLIOT_S * x / (1 + fabs(ELLIOT_S * x))


cdef inline double act_df(double x, int kind) noexcept nogil:
    """f'(x); at a kink the one-sided value listed in ``backends.activations`` kink_rule."""
    cdef double s
    if kind == 0:
        return 1.0
    if kind == 1:
        s = sigmoid(x)
        return s * (1 - s)
    if kind == 2:
        s = sigmoid(x)
        return 2 * s * (1 - s)
    if kind == 3:
        return 1.0 if x > 0 else 0.0
    if kind == 4:
        return 1.0 if x >= 0 else exp(x)
    if kind == 5:
        return 1.0 if x > 0 else RELIE
    if kind == 6:
        return 1.1 if x > 0 else 0.1
    if kind == 7:
        s = tanh(x)
        return 1 - s * s
    if kind == 8:
        return 0.125 if (x >= -4 and x <= 4) else PLSE
    if kind == 9:
        return 1.0 if x > 0 else LEAKY
    if kind == 10:
        return 1.0 if (x > -1 and x < 1) else 0.0
    if kind == 11:
        return 1.0 if (x > 0 and x < 1) else LHTAN
    if kind == 12:
        return SELU_SCALE if x > 0 else SELU_SCALE * SELU_ALPHA * exp(x)
    if kind == 13:
        return sigmoid(x)
    if kind == 14:
        s = 1 + fabs(x)
        return 1 / (s * s)
    if kind == 15:
        s = 1 + fabs(ELLIOT_S * x)
        return 0.5 * ELLIOT_S / (s * s)
    s = 1 + fabs(ELLIOT_S * x)
    return ELLIOT_S / (s * s)


def activation_forward(const real[::1] x, real[::1] y, int kind):
    """``y = f(x)``."""
    cdef Py_ssize_t k
    with nogil:
        for k in prange(x.shape[0], schedule="static"):
            y[k] = <real>act_f(x[k], kind)


def activation_backward(const real[::1] x, const real[::1] dy, real[::1] dx, int kind):
    """``dx = f'(x) dy`` (f' rounded to the array type first, as the reference does)."""
    cdef Py_ssize_t k
    with nogil:
        for k in prange(x.shape[0], schedule="static"):
            dx[k] = (<real>act_df(x[k], kind)) * dy[k]


def scaled_sum(const real[::1] a, const real[::1] b, real[::1] y, double alpha, double beta):
    """``y = alpha a + beta b``; with ``b`` of length 0 just ``y = alpha a``."""
    cdef Py_ssize_t k
    cdef real al = <real>alpha, be = <real>beta
    with nogil:
        if b.shape[0] == 0:
            for k in prange(a.shape[0], schedule="static"):
                y[k] = al * a[k]
        else:
            for k in prange(a.shape[0], schedule="static"):
                y[k] = al * a[k] + be * b[k]


def upsample_forward(const real[:, :, :, ::1] x, real[:, :, :, ::1] y, int r):
    """``y[n, h r + i, w r + j, c] = x[n, h, w, c]``, one output row per iteration."""
    cdef Py_ssize_t N = x.shape[0], H = x.shape[1], W = x.shape[2], C = x.shape[3]
    cdef Py_ssize_t g, n, h, w, j, c
    with nogil:
        for g in prange(N * H * r, schedule="static"):
            n = g // (H * r)
            h = (g % (H * r)) // r
            for w in range(W):
                for j in range(r):
                    for c in range(C):
                        y[n, g % (H * r), w * r + j, c] = x[n, h, w, c]


def upsample_backward(const real[:, :, :, ::1] dy, real[:, :, :, ::1] dx, int r):
    """``dx[n, h, w, c] = sum_{i, j < r} dy[n, h r + i, w r + j, c]`` (i, then j)."""
    cdef Py_ssize_t N = dx.shape[0], H = dx.shape[1], W = dx.shape[2], C = dx.shape[3]
    cdef Py_ssize_t g, n, h, w, i, j, c
    cdef real s
    with nogil:
        for g in prange(N * H, schedule="static"):
            n = g // H
            h = g % H
            for w in range(W):
                for c in range(C):
                    s = 0
                    for i in range(r):
                        for j in range(r):
                            s = s + dy[n, h * r + i, w * r + j, c]
                    dx[n, h, w, c] = s


cdef inline real loss_term(real e, int kind, real delta) noexcept nogil:
    cdef real a, q
    if kind == 0:
        return e * e
    a = e if e >= 0 else -e
    if kind == 1:
        return a
    q = a if a < delta else delta
    return <real>0.5 * q * q + delta * (a - q)


def loss_sum(const real[::1] y, const real[::1] t, int kind, double delta):
    """``sum_k loss(y_k - t_k)`` in double: fixed chunks in parallel, chunks added in order."""
    cdef Py_ssize_t M = y.shape[0], nch = (M + SUM_CHUNK - 1) // SUM_CHUNK, ch, k, k1
    cdef double[::1] part = np.zeros(nch)
    cdef double total = 0
    cdef real d = <real>delta
    with nogil:
        for ch in prange(nch, schedule="static"):
            k1 = min((ch + 1) * SUM_CHUNK, M)
            for k in range(ch * SUM_CHUNK, k1):
                part[ch] += loss_term(y[k] - t[k], kind, d)
        for ch in range(nch):
            total += part[ch]
    return total


def loss_grad(const real[::1] y, const real[::1] t, real[::1] g, int kind, double delta):
    """``g = dloss/de / M``: ``2 e``, ``sign(e)`` (0 at 0) or ``clip(e, -delta, delta)``."""
    cdef Py_ssize_t M = y.shape[0], k
    cdef real m = <real>M, d = <real>delta, e
    with nogil:
        for k in prange(M, schedule="static"):
            e = y[k] - t[k]
            if kind == 0:
                g[k] = (2 * e) / m
            elif kind == 1:
                g[k] = (<real>(1 if e > 0 else (-1 if e < 0 else 0)) if e == e else e) / m
            else:
                g[k] = (d if e > d else (-d if e < -d else e)) / m


def sgd_step(real[::1] p, const real[::1] g, double lr):
    """``p -= lr g``."""
    cdef Py_ssize_t k
    cdef real a = <real>lr
    with nogil:
        for k in prange(p.shape[0], schedule="static"):
            p[k] = p[k] - a * g[k]


def momentum_step(real[::1] p, const real[::1] g, real[::1] v, double lr, double momentum,
                  bint nesterov):
    """``v = mu v - lr g``; ``p += v`` (Nesterov: ``p += mu v - lr g``)."""
    cdef Py_ssize_t k
    cdef real a = <real>lr, mu = <real>momentum
    with nogil:
        for k in prange(p.shape[0], schedule="static"):
            v[k] = v[k] * mu
            v[k] = v[k] - a * g[k]
            if nesterov:
                p[k] = p[k] + (mu * v[k] - a * g[k])
            else:
                p[k] = p[k] + v[k]


def adam_step(real[::1] p, const real[::1] g, real[::1] m, real[::1] v, double alpha,
              double one_minus_b1, double one_minus_b2, double epsilon):
    """``m += (g - m)(1 - b1)``, ``v += (g^2 - v)(1 - b2)``, ``p -= m alpha / (sqrt(v) + eps)``."""
    cdef Py_ssize_t k
    cdef real al = <real>alpha, c1 = <real>one_minus_b1, c2 = <real>one_minus_b2
    cdef real eps = <real>epsilon
    with nogil:
        for k in prange(p.shape[0], schedule="static"):
            m[k] = m[k] + (g[k] - m[k]) * c1
            v[k] = v[k] + (g[k] * g[k] - v[k]) * c2
            p[k] = p[k] - (m[k] * al) / (<real>sqrt(v[k]) + eps)
