"""THE tolerance table: every "close enough" of the project lives here.

A comparison passes when ``|actual - desired| <= atol + rtol * |desired|`` element-wise,
with ``atol = rtol * scale``, ``scale = max|desired|`` of the tensor. Why ``atol`` scales:
the rounding error of a sum is relative to the size of its terms, not to the result, which
can cancel to ~0 (a conv output, a gradient, ``1 - tanh^2`` near saturation).

Tiers (``eps`` is the machine epsilon of the *lower* precision of the two sides):

``exact``        data movement (pixel shuffle, upsample forward, max-pool forward, a max-pool
                 backward whose windows do not overlap): a permutation or copy, so 0 and 0.
``elementwise``  one formula per element (activations, shortcut, losses' gradients, batch
                 norm in inference): ``8 eps`` (a few roundings, libm's 1-2 ulp
                 transcendental functions, ``x.astype`` of the result).
``reduction``    sums of ``K`` terms (conv, dense, average pooling, batch statistics, weight
                 gradients): ``8 eps sqrt(K)``; ``K`` is computed per case and tensor by
                 :func:`reduction_length`. Rounding errors of a sum of K terms random-walk,
                 so they grow as sqrt(K) for any summation order (naive, blocked, pairwise).
``winograd``     the Winograd forward: the reduction budget times
                 ``WINOGRAD_FACTOR``.
``optimizer``    parameters after one optimizer step: ``elementwise`` on the parameter plus
                 the gradient's budget times the step's sensitivity to the gradient (``gain``).

Against TensorFlow, float32 budgets are multiplied by ``TF_FACTOR``: see its comment.

The scale follows the conditioning of the computation, not only the result: where the terms
of a formula can cancel far below their own size, ``scale`` is the size of the terms
(:func:`term_scale`), because rounding errors are relative to what is rounded, not to what
is left after the cancellation. Batch-norm training backward is the case: see
:func:`term_scale` for the derivation.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .data import make_inputs

__all__ = [
    "ELEMENTWISE_ULPS", "FINITE_DIFFERENCE_RTOL", "RESULT_TOLERANCES", "TF_FACTOR", "TIERS",
    "WINOGRAD_FACTOR", "budget", "eps", "reduction_length", "result_tolerance",
    "subnormal_floor", "term_scale", "tier_of", "tolerance",
]

TIERS = ("exact", "elementwise", "reduction", "winograd", "optimizer", "finite_difference")

# Central finite differences in float64 (gradcheck.py), relative to max|analytic gradient|:
# with a step of 1e-6 the truncation error step^2 |f^(3)| / 6 is ~1e-13 and the rounding
# error u S / step (S = sum |y dy| over the touched outputs, < 1e2 on the catalogue shapes)
# is ~1e-8: a 100x margin below 1e-6, while a wrong derivative is off by >= 1e-3. Float32
# differences are too coarse to check anything, so the tier exists for float64 only.
FINITE_DIFFERENCE_RTOL = 1e-6

# 8 ulps: a handful of roundings per element (e.g. plse: multiply, add, select; elliot:
# abs, add, divide, multiply, add) plus libm's exp/log1p/tanh, which are within 1-2 ulp.
ELEMENTWISE_ULPS = 8.0

# Winograd F(2x2,3x3) rewrites each output as A^T[(G g G^T) . (B^T d B)]A: the input transform
# adds up to 4 terms, G has coefficients 1/2 and the output transform sums 9 products, so
# rounding errors are amplified by a small constant (Lavin & Gray 2016; Barabasz et al. 2020
# measure 2-4x of direct convolution for F(2x2,3x3), ~10x for F(4x4,3x3)). 16 covers both.
# Measured: numpy_ref F(2x2,3x3) float32 vs float64 on the catalogue uses 0.2% of this budget
# (4% of the plain reduction budget); a wrong transform is off by the size of the result.
# F(4x4,3x3) (algo="winograd4", filter transform in float64, input/output transforms with
# coefficients up to 5 and 8 in the working precision) measured float32 vs the float64
# reference, max|err| / max|y| on shapes C=3..192, F=4..192: 8.4e-7 .. 1.2e-5, i.e. 0.12-0.57
# of the plain reduction budget (10-25x the error of im2col, as Barabasz et al. report) and
# at most 3.6% of this tier: F(4x4) needs no tier of its own.
WINOGRAD_FACTOR = 16.0

# TensorFlow float32 on the CPU runs Eigen's vectorised exp/tanh/log1p (polynomial and rational
# approximations a few ulp from the correctly rounded value) and Eigen GEMM-based convolutions
# with their own blocking and accumulation order; numpy_ref uses libm and OpenBLAS. Neither is
# wrong; they round differently. Measured here (TF 2.21, AVX-512, catalogue, float32): TF vs
# numpy_ref float64 uses at most 26% of the plain elementwise budget (logistic') and 8% of the
# reduction budget; numpy_ref float32 vs TF float32 (both sides rounding) 39% and 11%. The
# factor 2 leaves room for the other SIMD paths Eigen picks on AVX2-only CPUs; float64 needs none.
TF_FACTOR = {np.dtype(np.float32): 2.0, np.dtype(np.float64): 1.0}

# Other inference runtimes (ONNX Runtime, OpenVINO, PyTorch) run our exported graphs with their
# own convolution kernels (MLAS, oneDNN: direct, im2col or Winograd, their own blocking and
# summation order), as TensorFlow does; float32 differs from ours by rounding only. Same
# reasoning and room as TF_FACTOR. Measured here: ONNX Runtime 1.32 on the six shipped models
# (13x9 input) uses at most 0.04% of the model budget (winograd tier) with this factor.
RUNTIME_FACTOR = {np.dtype(np.float32): 2.0, np.dtype(np.float64): 1.0}


def eps(dtype: Any) -> float:
    """Machine epsilon of ``dtype`` (float32: 1.19e-7, float64: 2.22e-16).

    Parameters
    ----------
    dtype : Any
        Anything ``numpy.dtype`` accepts (a floating type).

    Returns
    -------
    float
        The spacing of floats at 1.

    Examples
    --------
    >>> eps("float64")
    2.220446049250313e-16
    """
    return float(np.finfo(np.dtype(dtype)).eps)


def subnormal_floor(tier: str, dtype: Any) -> float:
    """Absolute budget of results in the subnormal range: ``ELEMENTWISE_ULPS`` times the
    smallest subnormal (float32: 1.1e-44, float64: 4e-323; 0 for the exact tier).

    Below the smallest normal number the spacing of floats stops shrinking: it is the
    smallest subnormal, so each rounding there costs up to that much in absolute terms,
    however small the result, and a relative budget asks for less than one spacing. Found by
    ``nox -s fuzz``: ``fuzz_shortcut_1x1x1x1`` (``beta = 1.4e-44``) is 3.5e-47 off in float32
    (one float32 subnormal step against the float64 value) where ``rtol |y|`` allowed 5e-51.
    Nothing a wrong formula produces hides under it: 1e-6 of float32's smallest normal number.

    Parameters
    ----------
    tier : str
        One of :data:`TIERS`.
    dtype : Any
        The lower precision of the two sides compared.

    Returns
    -------
    float
        The absolute floor added to ``atol``.
    """
    return 0.0 if tier == "exact" else ELEMENTWISE_ULPS * float(
        np.finfo(np.dtype(dtype)).smallest_subnormal)


def tolerance(tier: str, dtype: Any, k: int = 1) -> float:
    """The relative budget ``rtol`` of ``tier`` in ``dtype`` for a reduction of length ``k``.

    Parameters
    ----------
    tier : str
        One of :data:`TIERS`.
    dtype : Any
        The lower precision of the two sides compared.
    k : int, default 1
        Reduction length (terms summed into one element), for the ``reduction`` and
        ``winograd`` tiers.

    Returns
    -------
    float
        ``rtol``; the comparison's ``atol`` is ``rtol`` times the scale of the tensor.

    Raises
    ------
    ValueError
        Unknown ``tier``, or the ``finite_difference`` tier in another dtype than float64.

    Examples
    --------
    >>> tolerance("exact", "float32")
    0.0
    >>> tolerance("reduction", "float32", k=144) == 8 * eps("float32") * 12
    True
    >>> tolerance("winograd", "float32", k=144) / tolerance("reduction", "float32", k=144)
    16.0
    """
    if tier not in TIERS:
        raise ValueError(f"tier: expected one of {TIERS}, received {tier!r}")
    if tier == "exact":
        return 0.0
    if tier == "finite_difference":
        if np.dtype(dtype) != np.float64:
            raise ValueError(f"dtype: the finite_difference tier expects float64, received "
                             f"{np.dtype(dtype).name}")
        return FINITE_DIFFERENCE_RTOL
    base = ELEMENTWISE_ULPS * eps(dtype)
    if tier in ("elementwise", "optimizer"):
        return base
    rtol = base * math.sqrt(max(int(k), 1))
    return rtol * WINOGRAD_FACTOR if tier == "winograd" else rtol


_OPTIMIZERS = ("sgd", "momentum", "adam")
# what the spec says about a tensor's arithmetic (backends.specs.Stated.arithmetic) -> tier
_TIER_OF_ARITHMETIC = {"copy": "exact", "formula": "elementwise", "sum": "reduction",
                       "transform": "winograd"}


def _spec_tensor(tensor: str) -> str:
    """The spec's name of a harness tensor: ``<optimizer>/<param>`` is judged by the length
    of its gradient ``grad/<param>``."""
    head, _, param = tensor.partition("/")
    return f"grad/{param}" if head in _OPTIMIZERS else tensor


def reduction_length(case, tensor: str) -> int:
    """Number of terms summed into one element of ``tensor`` (1 for element-wise tensors),
    as the case's spec states it (:meth:`backends.specs.Stated.reduction_length`).

    Parameters
    ----------
    case : backends.testing.catalogue.Case
        The layer configuration.
    tensor : str
        A harness name: ``y``, ``dx``, ``da``/``db``, ``grad/<param>``, ``state/<buffer>``,
        or ``<optimizer>/<param>`` (the gradient's length).

    Returns
    -------
    int
        ``K``, at least 1.

    Examples
    --------
    >>> from backends import specs
    >>> from backends.testing.catalogue import Case
    >>> case = Case(name="conv", spec=specs.Conv2D(filters=4), input_shape=(1, 8, 8, 3))
    >>> reduction_length(case, "y"), reduction_length(case, "grad/weights")  # 3*3*3, 1*8*8
    (27, 64)
    """
    return case.spec.reduction_length(case.input_shape, _spec_tensor(tensor),
                                      training=case.training)


def tier_of(case, tensor: str) -> str:
    """The tier a tensor of a case is judged by: ``optimizer`` for a parameter after a step,
    otherwise the tier of the arithmetic its spec states
    (:meth:`backends.specs.Stated.arithmetic`: copy -> exact, formula -> elementwise,
    sum -> reduction, Winograd transform -> winograd).

    Parameters
    ----------
    case : backends.testing.catalogue.Case
        The layer configuration.
    tensor : str
        Harness tensor name (see :func:`reduction_length`).

    Returns
    -------
    str
        One of :data:`TIERS`.
    """
    if tensor.split("/", 1)[0] in _OPTIMIZERS:
        return "optimizer"
    kind = case.spec.arithmetic(case.input_shape, tensor, training=case.training)
    return _TIER_OF_ARITHMETIC[kind]


def budget(
    case, tensor: str, dtype: Any, *, against: str = "numpy", scale: float = 1.0,
    grad_scale: float = 0.0, gain: float = 0.0,
) -> tuple[float, float, str]:
    """``(atol, rtol, tier)`` for ``tensor`` of ``case`` computed in ``dtype``.

    Parameters
    ----------
    case : backends.testing.catalogue.Case
        The layer configuration.
    tensor : str
        Harness tensor name (see :func:`reduction_length`).
    dtype : float32 or float64
        The lower precision of the two compared sides.
    against : {"numpy", "tensorflow"}
        What the desired values come from; TensorFlow adds :data:`TF_FACTOR`.
    scale : float
        ``max|desired|`` of the tensor; ``atol = rtol * scale``.
    grad_scale, gain : float
        Optimizer tensors only: ``max|gradient|`` of the parameter and ``d step / d g``
        (``lr`` for SGD and the first Momentum step, ``lr sqrt(1 - beta2) / epsilon`` at most
        for the first Adam step); the gradient's own error, times the gain, adds to ``atol``.

    Returns
    -------
    atol, rtol : float
        The comparison passes where ``|actual - desired| <= atol + rtol |desired|``.
    tier : str
        The tier that set them.

    Raises
    ------
    ValueError
        ``against`` is neither ``"numpy"`` nor ``"tensorflow"``.

    Examples
    --------
    >>> from backends import specs
    >>> from backends.testing.catalogue import Case
    >>> case = Case(name="conv", spec=specs.Conv2D(filters=4), input_shape=(1, 8, 8, 3))
    >>> atol, rtol, tier = budget(case, "y", "float32", scale=2.0)
    >>> tier, rtol == tolerance("reduction", "float32", k=27), atol == 2 * rtol
    ('reduction', True, True)
    """
    dt = np.dtype(dtype)
    if against not in ("numpy", "tensorflow"):
        raise ValueError(f"against: expected 'numpy' or 'tensorflow', received {against!r}")
    factor = TF_FACTOR[dt] if against == "tensorflow" else 1.0
    tier = tier_of(case, tensor)
    rtol = tolerance(tier, dt, reduction_length(case, tensor)) * factor
    atol = rtol * float(scale) + subnormal_floor(tier, dt)
    if tier == "optimizer":
        param = tensor.split("/", 1)[1]
        grad_tier = tier_of(case, f"grad/{param}")
        grad_rtol = tolerance(grad_tier, dt, reduction_length(case, f"grad/{param}")) * factor
        atol += gain * grad_rtol * float(grad_scale)
    return atol, rtol, tier


def term_scale(case, tensor: str, seed: int = 0) -> float:
    """Size of the terms that make up ``tensor`` where they can cancel (0 elsewhere).

    The comparison's ``scale`` is ``max(max|desired|, term_scale)``. The spec names the
    formula that cancels (:meth:`backends.specs.Stated.cancelling`); only batch-norm training
    (``"batch_statistics"``) does so far. Per channel, with ``m = n h w`` values,
    ``s = sqrt(var + epsilon)`` and ``xhat = (x - mean) / s``::

        dx_i = (gamma / s) (dy_i - mean(dy) - xhat_i mean(dy xhat))

    is a difference of three terms of size up to
    ``T = (|gamma| / s) max|dy| (1 + max|xhat|^2)`` (``|mean(dy xhat)| <= max|dy| max|xhat|``).
    Each is rounded relative to its own size and the means add the ``sqrt(m)`` random walk of
    the reduction tier, so the error of ``dx`` is ``~ rtol T`` however small ``dx`` is. They do
    cancel: for ``m = 2``, ``xhat = +-d / sqrt(d^2 + epsilon)`` and
    ``dx_1 = (gamma / s) (dy_1 - dy_2) / 2 * epsilon / (d^2 + epsilon)``, i.e. ``|dx| ~ 1e-5 T``
    for ``epsilon = 1e-5`` and ``d ~ 1``; a budget relative to ``|dx|`` then asks float32 for
    ~1e-11 where its rounding of the terms alone is ~1e-8 (the case ``fuzz_batchnorm_2x1x1x1``,
    found by ``nox -s fuzz``: numpy_ref, Cython and Numba agree with each other and are all
    7.8e-9 from float64). The rounding of ``xhat`` itself (``x - mean`` loses
    ``eps max|x| / s`` relative when the values are close) moves the third term by
    ``(|gamma| / s) max|dy| max|xhat| * eps max|x| / s``: the factor ``1 + max|x| / s`` covers it.
    The weight gradients ``grad/gamma = sum dy xhat`` and ``grad/beta = sum dy`` are sums of
    ``m`` such terms: their scale is ``sqrt(m)`` times the largest term (the size of a random
    sum of them), so a sum that cancels to ~0 keeps the budget of one that does not.
    The numbers come from :func:`~backends.testing.data.make_inputs` in float64 with ``seed``
    (the same data both compared sides ran on).

    Parameters
    ----------
    case : backends.testing.catalogue.Case
        The layer configuration.
    tensor : str
        Harness tensor name.
    seed : int, default 0
        Seed of the inputs both compared sides ran on.

    Returns
    -------
    float
        ``T`` (0.0 where nothing cancels).
    """
    kind = case.spec.cancelling(tensor, training=case.training)
    return 0.0 if kind is None else _TERM_SCALES[kind](case, tensor, seed)


def _batch_statistics_term_scale(case, tensor: str, seed: int) -> float:
    """:func:`term_scale` of batch-norm training (``dx``, ``grad/gamma``, ``grad/beta``)."""
    spec = case.spec
    inputs = make_inputs(case, np.float64, seed)
    c = case.input_shape[3]
    x, dy = inputs["x"].reshape(-1, c), inputs["dy"].reshape(-1, c)
    m = x.shape[0]
    s = np.sqrt(x.var(axis=0) + spec.epsilon)
    xhat = (x - x.mean(axis=0)) / s
    if tensor == "grad/beta":
        return float(math.sqrt(m) * np.max(np.abs(dy)))
    if tensor == "grad/gamma":
        return float(math.sqrt(m) * np.max(np.abs(dy * xhat)))
    gamma = np.abs(np.asarray(inputs["params"]["gamma"], dtype=np.float64))
    t = (gamma / s * np.max(np.abs(dy), axis=0) * (1 + np.max(xhat**2, axis=0))
         * (1 + np.max(np.abs(x), axis=0) / s))
    return float(np.max(t))


# the formula a spec names in ``cancelling`` -> its term scale
_TERM_SCALES = {"batch_statistics": _batch_statistics_term_scale}


# Result tables (``layerbench compare``): the largest absolute difference a metric column may
# show between two runs of the main job, by the column name's metric (matched as a substring,
# first match wins; ``None``: not compared). The spread measured across BLAS kernels, CPU
# feature sets and thread counts is <= 4e-4 dB PSNR and <= 1e-4 SSIM (docs/user/
# reproducibility.md): each tolerance is >= 10x that spread and >= 10x below the smallest
# effect the report states (0.1 dB SR gains, SSIM differences of 0.01).
RESULT_TOLERANCES: dict[str, float | None] = {
    "seconds": None,   # times: a property of the machine, not of the result
    "psnr": 1e-2,      # dB; also d_*_psnr, thesis_psnr
    "gain_db": 1e-2,   # dB, a PSNR difference
    "ssim": 1e-3,      # SSIM in [0, 1]; also ssim_gain
    "iou": 1e-3,       # mask IoU in [0, 1]
}


def result_tolerance(column: str) -> float | None | bool:
    """The tolerance of a result table's column (see :data:`RESULT_TOLERANCES`).

    Parameters
    ----------
    column : str
        The column's name.

    Returns
    -------
    float, None or False
        The largest allowed ``|a - b|``; ``None`` for a column not compared (times);
        ``False`` for a column with no metric in its name: a key (names, scales, counts),
        compared as identical text.

    Examples
    --------
    >>> result_tolerance("bicubic_psnr"), result_tolerance("seconds"), result_tolerance("image")
    (0.01, None, False)
    """
    name = column.lower()
    for metric, tol in RESULT_TOLERANCES.items():
        if metric in name:
            return tol
    return False
