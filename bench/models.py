"""Whole-model inference time: EDSR x2, EDSR-baseline x2, WDSR-A x4 per backend and threads,
beside the peer: the same model in Keras as a Keras user runs it.

The input is the low-resolution uint8 image: the thesis' 510x339 timing image (the thesis:
EDSR 576.92 s, WDSR 46.35 s) and a 128x128 MRI-size slice. Weights are the seeded
initialisation: time does not depend on their values. Every row times what a user calls:
``SRModel.super_resolve`` with its defaults (normalisation, the tile plan of the default
memory budget, banded convolutions, clipping and rounding to uint8) on each backend, and
``KerasPeer.super_resolve`` (:mod:`layerbench.models.keras_peer`: the Keras functional
model in one ``tf.function``, TensorFlow's defaults, both pools at the thread count) as the
``keras`` row. The ``tensorflow`` backend (``tf.nn`` ops called layer by layer, eager) is
the tests' oracle, timed here for the record, not the peer.
"""

from __future__ import annotations

from . import _common as c

MODELS = ("edsr_x2", "edsr_baseline_x2", "wdsr_a_x4")
SIZES = ("510x339", "128x128")  # width x height of the LR input
PEER = "keras"
TINY_MODEL = {"n_resblocks": 1, "n_feats": 8}
TINY_SIZE = (12, 16)  # height, width


def input_hw(size: str) -> tuple[int, int]:
    """``"510x339"`` (width x height) -> ``(339, 510)``; the tiny size in tiny mode."""
    if c.tiny():
        return TINY_SIZE
    w, h = (int(v) for v in size.split("x"))
    return h, w


def image(size: str, seed: int = 4):
    """A uint8 LR image of ``size`` (random: time and memory do not depend on content)."""
    import numpy as np

    h, w = input_hw(size)
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def build(model: str, backend: str):
    """The preset ``model`` on ``backend``, or its Keras twin for ``backend == "keras"``
    (tiny in tiny mode), warmed up on a tiny image: Numba compiles, TensorFlow starts and
    traces, here and not in the timed call."""
    import numpy as np

    from layerbench import models

    overrides = TINY_MODEL if c.tiny() else {}
    if backend == PEER:
        from layerbench.models.keras_peer import KerasPeer

        runner = KerasPeer(models.preset(model, backend="numpy", **overrides))
    else:
        runner = models.preset(model, backend=backend, **overrides)
    runner.super_resolve(np.full((8, 8, 3), 128, np.uint8))
    return runner


class Models(c.Scoped):
    """``super_resolve`` time of a model on one uint8 LR image (float32 models).

    EDSR x2 on 510x339 is 14 TFLOP (~1 min for Keras on 2 quiet AVX-512 cores, several for
    a slower backend): it runs once, at the largest thread count only, at both sizes;
    EDSR-baseline and WDSR-A show the thread scaling.
    """

    params = (MODELS, SIZES, (*c.BACKENDS, PEER), c.THREADS)
    param_names = ("model", "size", "backend", "threads")
    rounds = 1
    number = 1
    repeat = 1
    warmup_time = 0.0
    timeout = 1800

    def setup(self, model, size, backend, threads):
        from backends.errors import NotSupportedError

        if model == "edsr_x2" and threads != max(c.THREADS) and not c.tiny():
            c.skip("budget", f"EDSR x2 (14 TFLOP on 510x339, 1.3 on 128x128) is timed at "
                   f"{max(c.THREADS)} threads only; the other models show thread scaling")
        # the peer's thread pools are TensorFlow's
        self.scope = c.ThreadScope("tensorflow" if backend == PEER else backend, threads)
        try:
            self.model = build(model, backend)
        except NotSupportedError as err:
            self.scope.close()
            c.skip("unsupported", str(err))
        self.image = image(size)

    def time_super_resolve(self, *params):
        self.model.super_resolve(self.image)
