"""Whole-model inference time: EDSR x2, EDSR-baseline x2, WDSR-A x4 per backend and threads.

The input is the low-resolution image: the thesis' 510x339 timing image (the thesis: EDSR
576.92 s, WDSR 46.35 s) and a 128x128 MRI-size slice. Weights are the seeded initialisation:
time does not depend on their values. ``predict`` is what a user calls (normalisation,
banded convolutions, de-normalisation), untiled.
"""

from __future__ import annotations

from . import _common as c

MODELS = ("edsr_x2", "edsr_baseline_x2", "wdsr_a_x4")
SIZES = ("510x339", "128x128")  # width x height of the LR input
TINY_MODEL = {"n_resblocks": 1, "n_feats": 8}
TINY_SIZE = (12, 16)  # height, width


def input_hw(size: str) -> tuple[int, int]:
    """``"510x339"`` (width x height) -> ``(339, 510)``; the tiny size in tiny mode."""
    if c.tiny():
        return TINY_SIZE
    w, h = (int(v) for v in size.split("x"))
    return h, w


class Models(c.Scoped):
    """``predict`` time of a model on one LR image (float32).

    EDSR x2 on 510x339 is 14 TFLOP (~1 min for TensorFlow on 2 quiet AVX-512 cores, several
    for a slower backend): it runs once, at the largest thread count only, at both sizes;
    EDSR-baseline and WDSR-A show the thread scaling.
    """

    params = (MODELS, SIZES, c.BACKENDS, c.THREADS)
    param_names = ("model", "size", "backend", "threads")
    rounds = 1
    number = 1
    repeat = 1
    warmup_time = 0.0
    timeout = 1800

    def setup(self, model, size, backend, threads):
        from backends.errors import NotSupportedError
        from layerbench import models

        if model == "edsr_x2" and threads != max(c.THREADS) and not c.tiny():
            c.skip("budget", f"EDSR x2 (14 TFLOP on 510x339, 1.3 on 128x128) is timed at "
                   f"{max(c.THREADS)} threads only; the other models show thread scaling")
        self.scope = c.ThreadScope(backend, threads)
        overrides = TINY_MODEL if c.tiny() else {}
        try:
            self.model = models.preset(model, backend=backend, **overrides)
            # compile (Numba) / start the runtime (TF) on a tiny image, not on the timed one
            self.model.predict(c.random((1, 8, 8, 3)) * 127.5 + 127.5)
        except NotSupportedError as err:
            self.scope.close()
            c.skip("unsupported", str(err))
        h, w = input_hw(size)
        self.x = c.random((1, h, w, 3), seed=4) * 127.5 + 127.5


    def time_predict(self, *params):
        self.model.predict(self.x)
