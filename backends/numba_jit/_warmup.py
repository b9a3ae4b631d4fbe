"""Compile (or load from the on-disk cache) every kernel ahead of use, timing each one.

Each public kernel function is called once per dtype on a tiny input, which compiles every
jitted function it reaches for that dtype; the wall time of that first call is the compile
cost (or, with a warm cache, the cost of loading the cached machine code).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable

import numpy as np

from ..protocol import KERNEL_MODULES
from ..registry import check_dtype


def _calls(dt: np.dtype) -> dict[str, list[Callable[[], object]]]:
    """module -> {function: thunk} on tiny inputs of dtype ``dt`` (all kernels reached)."""
    rng = np.random.default_rng(0)

    def a(*shape):
        return rng.standard_normal(shape).astype(dt)

    x, w, b, dy = a(1, 5, 6, 3), a(3, 3, 3, 4), a(4), a(1, 5, 6, 4)
    c = importlib.import_module
    pk = dict(size=(3, 3), stride=(1, 1), pads=(1, 1, 1, 1))

    def conv():
        k = c(f"{__package__}.conv")
        return {
            "conv2d_forward": lambda: k.conv2d_forward(x, w, b, stride=(1, 1), pads=(1, 1, 1, 1)),
            "conv2d_backward": lambda: k.conv2d_backward(x, w, dy, stride=(1, 1),
                                                         pads=(1, 1, 1, 1)),
            "winograd_forward": lambda: k.winograd_forward(x, w, b, pads=(1, 1, 1, 1)),
            "winograd_filter": lambda: k.winograd_filter(w),
            "winograd4_forward": lambda: k.winograd4_forward(x, w, b, pads=(1, 1, 1, 1)),
            "winograd4_filter": lambda: k.winograd4_filter(w),
        }

    def pool():
        k = c(f"{__package__}.pool")
        # arg-max from the reference, so that timing maxpool_backward compiles nothing else
        y, arg = c("backends.numpy_ref.pool").maxpool_forward(x, **pk)
        return {
            "maxpool_forward": lambda: k.maxpool_forward(x, **pk),
            "maxpool_backward": lambda: k.maxpool_backward(y, arg, x_shape=x.shape),
            "avgpool_forward": lambda: k.avgpool_forward(x, **pk),
            "avgpool_backward": lambda: k.avgpool_backward(y, x_shape=x.shape, **pk),
        }

    def shuffle():
        k = c(f"{__package__}.shuffle")
        xs = a(1, 2, 3, 8)
        return {
            "pixel_shuffle": lambda: (k.pixel_shuffle(xs, scale=2, order="dcr"),
                                      k.pixel_shuffle(xs, scale=2, order="crd")),
            "pixel_unshuffle": lambda: (k.pixel_unshuffle(dy, scale=1, order="dcr"),
                                        k.pixel_unshuffle(dy, scale=1, order="crd")),
        }

    def norm():
        k = c(f"{__package__}.norm")
        g, m, v = a(3), a(3), np.abs(a(3))
        return {
            "batchnorm_statistics": lambda: k.batchnorm_statistics(x),
            "batchnorm_forward": lambda: k.batchnorm_forward(x, g, m, m, v, epsilon=1e-3),
            "batchnorm_backward": lambda: k.batchnorm_backward(x, x, g, m, v, epsilon=1e-3,
                                                               training=True),
        }

    def activation():
        k = c(f"{__package__}.activation")
        return {
            "activation_forward": lambda: k.activation_forward(x, kind="relu"),
            "activation_backward": lambda: k.activation_backward(x, x, kind="relu"),
        }

    def dense():
        k = c(f"{__package__}.dense")
        x2, w2, y2 = a(2, 3), a(3, 4), a(2, 4)
        return {
            "dense_forward": lambda: k.dense_forward(x2, w2, y2[0].copy()),
            "dense_backward": lambda: k.dense_backward(x2, w2, y2),
        }

    def shortcut():
        k = c(f"{__package__}.shortcut")
        return {
            "shortcut_forward": lambda: k.shortcut_forward(x, x, alpha=0.1, beta=1.0),
            "shortcut_backward": lambda: k.shortcut_backward(x, alpha=0.1, beta=1.0),
        }

    def upsample():
        k = c(f"{__package__}.upsample")
        return {
            "upsample_forward": lambda: k.upsample_forward(x, scale=2),
            "upsample_backward": lambda: k.upsample_backward(x[:, :4], scale=2),
        }

    def loss():
        k = c(f"{__package__}.loss")
        return {
            "loss_forward": lambda: k.loss_forward(x, dy[..., :3].copy(), kind="mse", delta=1.0),
            "loss_backward": lambda: k.loss_backward(x, dy[..., :3].copy(), kind="mse",
                                                     delta=1.0),
        }

    def optim():
        k = c(f"{__package__}.optim")
        p, g, m, v = a(5), a(5), a(5), np.abs(a(5))
        return {
            "sgd_step": lambda: k.sgd_step(p, g, lr=0.1),
            "momentum_step": lambda: k.momentum_step(p, g, m, lr=0.1, momentum=0.9,
                                                     nesterov=False),
            "adam_step": lambda: k.adam_step(p, g, m, v, lr=0.1, beta1=0.9, beta2=0.999,
                                             epsilon=1e-7, step=1),
        }

    return {name: fn for name, fn in locals().items() if name in KERNEL_MODULES}


def warmup(dtypes: Iterable = (np.float32,), modules: Iterable[str] | None = None
           ) -> dict[str, float]:
    """Compile every kernel of the Numba backend for ``dtypes``; return seconds per kernel.

    Parameters
    ----------
    dtypes : iterable of dtype-like
        float32 and/or float64.
    modules : iterable of str, optional
        Kernel modules (names of :data:`backends.protocol.KERNEL_MODULES`); all by default.

    Returns
    -------
    dict
        ``"module.function[dtype]" -> seconds`` of the first call: compile time on a cold
        cache, load time on a warm one, about the run time (microseconds) once loaded.
    """
    dts = [check_dtype(d) for d in dtypes]
    names = tuple(KERNEL_MODULES) if modules is None else tuple(modules)
    for m in names:
        if m not in KERNEL_MODULES:
            from ..errors import expected

            raise ValueError(expected("modules", f"names from {KERNEL_MODULES}", m))
    times: dict[str, float] = {}
    for dt in dts:
        makers = _calls(dt)
        for m in names:
            for fn, thunk in makers[m]().items():
                t0 = time.perf_counter()
                thunk()
                times[f"{m}.{fn}[{dt.name}]"] = time.perf_counter() - t0
    return times
