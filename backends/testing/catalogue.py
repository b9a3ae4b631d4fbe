"""The case catalogue: small layer configurations every backend must get right, and the
named benchmark shapes (``PRESETS``) that bench/ and the experiments time.

A :class:`Case` is data: a spec, an NHWC input shape and the mode it runs in. ``CASES``
covers every layer of SPEC section 1 (convolution in both algorithms, pooling, shortcut,
pixel shuffle, batch norm, the 17 activations, connected, upsample, the losses) with shapes
small enough that the whole catalogue runs on every backend and dtype in seconds.
Names are stable ids (``pytest -k conv3x3_s2``); never rename one, add a new one.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from .. import specs
from ..activations import ACTIVATIONS

__all__ = ["CASES", "PRESETS", "Case", "case_by_name"]


@dataclass(frozen=True)
class Case:
    """One layer configuration to run and compare.

    Parameters
    ----------
    name : str
        Stable, readable id (also the pytest id).
    spec : backends.specs.LayerSpec or backends.specs.Loss
        What to build. A :class:`~backends.specs.Loss` case runs ``LossFunction`` on an
        ``input_shape`` prediction and a target.
    input_shape : tuple of int
        NHWC shape of the (first) input.
    training : bool
        Mode of ``forward`` (batch statistics for BatchNorm; no effect elsewhere).
    note : str
        Why the case exists, when the name does not say it all.
    """

    name: str
    spec: specs.LayerSpec | specs.Loss
    input_shape: tuple[int, int, int, int]
    training: bool = False
    note: str = ""

    def __str__(self) -> str:
        return self.name

    @property
    def layer(self) -> str:
        """Layer family (``conv2d``, ``maxpool2d``, ..., ``loss``): the report's first column."""
        return self.spec.layer_type

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The output's shape, ``()`` for a loss (a scalar)."""
        return self.spec.output_shape(self.input_shape)

    @property
    def is_merge(self) -> bool:
        """Two inputs (``x``, ``x2``); a loss's target is not one."""
        return not self.spec.is_loss and self.spec.n_inputs == 2

    def nbytes(self, itemsize: int = 4) -> int:
        """Bytes of the input plus the output, a guide to whether a preset fits in memory."""
        out = self.output_shape
        return itemsize * (math.prod(self.input_shape) + (math.prod(out) if out else 1))


def _conv(name, shape, filters, kernel=3, stride=1, padding="same", use_bias=True,
          algo="im2col", note="", cls=specs.Conv2D, **fused):
    spec = cls(filters=filters, kernel=kernel, stride=stride, padding=padding,
               use_bias=use_bias, algo=algo, **fused)
    return Case(name, spec, shape, note=note)


_CONV = [
    _conv("conv3x3_s1_same_b1_c3", (1, 7, 6, 3), 4),
    _conv("conv3x3_s1_valid_b3_c1", (3, 8, 9, 1), 5),
    _conv("conv3x3_s1_valid_nobias", (2, 6, 7, 3), 4, padding="valid", use_bias=False),
    _conv("conv3x3_s2_same_even", (1, 8, 8, 3), 4, stride=2),
    _conv("conv3x3_s2_same_odd_b2", (2, 7, 9, 4), 3, stride=2),
    _conv("conv3x3_s2_valid_odd", (1, 9, 7, 3), 2, stride=2, padding="valid"),
    _conv("conv1x3_s1_same_nobias", (2, 5, 6, 4), 3, kernel=(1, 3), use_bias=False),
    _conv("conv2x3_s1_same", (1, 6, 7, 3), 4, kernel=(2, 3),
          note="even kernel height: TF 'same' puts the extra padding row at the bottom"),
    _conv("conv2x3_s2x1_valid", (2, 7, 6, 2), 3, kernel=(2, 3), stride=(2, 1), padding="valid"),
    _conv("conv5x5_s1_same", (1, 9, 8, 2), 3, kernel=5),
    _conv("conv5x5_s2_valid", (1, 11, 10, 3), 2, kernel=5, stride=2, padding="valid"),
    _conv("conv5x5_s2_same_b3", (3, 6, 5, 1), 2, kernel=5, stride=2),
    _conv("conv1x1_c32", (1, 4, 5, 32), 16, kernel=1),
    _conv("conv3x3_c16_f24", (1, 6, 6, 16), 24),
    _conv("conv3x3_input_smaller_than_kernel_same", (1, 2, 1, 3), 2,
          note="'same' padding larger than the input itself"),
    _conv("winograd_same_odd", (1, 7, 9, 3), 4, algo="winograd"),
    _conv("winograd_valid_odd_b2", (2, 9, 7, 3), 5, padding="valid", algo="winograd"),
    _conv("winograd_same_even_c8", (1, 8, 6, 8), 4, algo="winograd"),
    _conv("winograd_valid_nobias_b3", (3, 5, 5, 2), 3, padding="valid", use_bias=False,
          algo="winograd"),
    _conv("winograd_same_c16", (1, 5, 6, 16), 16, algo="winograd"),
    _conv("winograd4_same_odd", (1, 7, 9, 3), 4, algo="winograd4"),
    _conv("winograd4_valid_odd_b2", (2, 11, 9, 3), 5, padding="valid", algo="winograd4"),
    _conv("winograd4_same_c16_f24", (1, 9, 10, 16), 24, algo="winograd4"),
    _conv("winograd4_relu_fused", (1, 6, 9, 8), 8, algo="winograd4", activation="relu"),
    _conv("winograd4_add_fused", (2, 7, 5, 4), 4, algo="winograd4", cls=specs.Conv2DAdd,
          alpha=0.1),
    _conv("conv3x3_auto", (1, 8, 7, 4), 4, algo="auto",
          note="whichever algorithm the timing picks, it is held to the winograd tier"),
    # fused epilogues (the model path): equal to the unfused layers, see test_fused.py
    _conv("conv3x3_relu_fused", (1, 7, 6, 3), 4, activation="relu"),
    _conv("winograd_relu_fused_b2", (2, 7, 9, 3), 4, algo="winograd", activation="relu"),
    _conv("conv1x1_relu_fused", (1, 4, 5, 8), 6, kernel=1, activation="relu",
          note="1x1 stride 1: the Cython kernel's direct GEMM path"),
    _conv("conv3x3_add_fused_edsr", (1, 6, 5, 4), 4, cls=specs.Conv2DAdd, alpha=0.1,
          note="EDSR's x + res_scale * conv(...)"),
    _conv("winograd_add_fused_valid", (2, 7, 6, 3), 5, padding="valid", algo="winograd",
          cls=specs.Conv2DAdd, alpha=-0.5, beta=2.0),
    _conv("conv1x1_add_fused_nobias", (1, 4, 5, 8), 6, kernel=1, use_bias=False,
          cls=specs.Conv2DAdd, alpha=1.0, beta=1.0),
]


def _pool(kind, size, stride, padding, shape, suffix=""):
    cls = specs.MaxPool2D if kind == "max" else specs.AvgPool2D
    sz = size if isinstance(size, tuple) else (size, size)
    st = stride if isinstance(stride, tuple) else (stride, stride)
    name = f"{kind}pool{sz[0]}x{sz[1]}_s{st[0]}" + (f"x{st[1]}" if st[1] != st[0] else "")
    return Case(f"{name}_{padding}{suffix}", cls(size=size, stride=stride, padding=padding), shape)


_POOL = [
    p
    for kind in ("max", "avg")
    for p in (
        _pool(kind, 2, 2, "valid", (2, 6, 8, 3)),
        _pool(kind, 2, 2, "valid", (1, 7, 5, 2), "_odd"),
        _pool(kind, 2, 2, "same", (1, 5, 7, 3), "_odd"),
        _pool(kind, 3, 1, "same", (1, 6, 7, 3)),
        _pool(kind, 3, 2, "same", (2, 7, 8, 2)),
        _pool(kind, 3, 2, "valid", (1, 9, 6, 4)),
        _pool(kind, (2, 3), (2, 1), "same", (1, 5, 6, 3)),
    )
]

_SHORTCUT = [
    Case("shortcut_edsr_a0.1_b1", specs.Shortcut(alpha=0.1, beta=1.0), (1, 5, 6, 4),
         note="the EDSR residual: res_scale * body + skip"),
    Case("shortcut_a1_b1", specs.Shortcut(alpha=1.0, beta=1.0), (2, 4, 3, 3)),
    Case("shortcut_a-0.5_b2", specs.Shortcut(alpha=-0.5, beta=2.0), (3, 3, 4, 2)),
    Case("fuzz_shortcut_1x1x1x1", specs.Shortcut(alpha=0.0, beta=1.401298464324817e-44),
         (1, 1, 1, 1),
         note="found by nox -s fuzz: a float32 subnormal coefficient puts y in the subnormal "
              "range, where rounding is absolute (tolerances.subnormal_floor)"),
]

_SHUFFLE = [
    Case(f"pixelshuffle_{order}_r{r}", specs.PixelShuffle(scale=r, order=order), shape)
    for order in ("dcr", "crd")
    for r, shape in ((2, (1, 4, 5, 8)), (3, (2, 3, 4, 18)))
]

_NORM = [
    Case("batchnorm_train", specs.BatchNorm(), (3, 4, 5, 6), training=True),
    Case("batchnorm_train_b1", specs.BatchNorm(epsilon=1e-5, momentum=0.9), (1, 5, 4, 3),
         training=True),
    Case("batchnorm_infer", specs.BatchNorm(), (2, 3, 4, 5), training=False),
    Case("fuzz_batchnorm_2x1x1x1", specs.BatchNorm(epsilon=1e-5, momentum=0.9), (2, 1, 1, 1),
         training=True,
         note="found by Hypothesis: two values per channel make dx cancel to ~1e-5 of its "
              "terms; float32 dx is 7.8e-9 off on every backend, within the term-scaled "
              "budget of tolerances.term_scale, 300x outside one relative to |dx|"),
]

_ACT = [Case(f"act_{kind}", specs.Activation(kind=kind), (2, 4, 5, 3)) for kind in ACTIVATIONS]

_DENSE = [
    Case("connected_bias", specs.Connected(units=7), (2, 3, 4, 5)),
    Case("connected_nobias_b1", specs.Connected(units=4, use_bias=False), (1, 2, 2, 3)),
    Case("connected_1x1_b3", specs.Connected(units=6), (3, 1, 1, 10)),
]

_UPSAMPLE = [
    Case("upsample_r2", specs.Upsample(scale=2), (1, 3, 4, 2)),
    Case("upsample_r3_b2", specs.Upsample(scale=3), (2, 2, 3, 3)),
]

_LOSS = [
    Case("loss_mse", specs.Loss(kind="mse"), (2, 4, 5, 3)),
    Case("loss_mae", specs.Loss(kind="mae"), (2, 4, 5, 3)),
    Case("loss_smooth_l1", specs.Loss(kind="smooth_l1"), (2, 4, 5, 3)),
    Case("loss_smooth_l1_delta0.5", specs.Loss(kind="smooth_l1", delta=0.5), (1, 3, 3, 2)),
]

CASES: tuple[Case, ...] = tuple(
    _CONV + _POOL + _SHORTCUT + _SHUFFLE + _NORM + _ACT + _DENSE + _UPSAMPLE + _LOSS
)
assert len({c.name for c in CASES}) == len(CASES), "case names must be unique"


def case_by_name(name: str) -> Case:
    """Look a case up in ``CASES`` or ``PRESETS`` by its name."""
    for case in (*CASES, *PRESETS.values()):
        if case.name == name:
            return case
    raise KeyError(f"case: expected a name in CASES or PRESETS, received {name!r}")


def _presets() -> dict[str, Case]:
    conv3 = specs.Conv2D
    full = {
        # EDSR x2 body conv on the thesis' 510x339 timing image (SPEC section 4).
        "edsr_body": Case("edsr_body", conv3(filters=256), (1, 339, 510, 256)),
        "edsr_small": Case("edsr_small", conv3(filters=64), (1, 128, 128, 64)),
        # WDSR-A x4 body on the LR of 510x339 (ceil(339/4) x 510/4 = 85 x 128), F=32, e=6.
        "wdsr_expand": Case("wdsr_expand", conv3(filters=192), (1, 85, 128, 32)),
        "wdsr_reduce": Case("wdsr_reduce", conv3(filters=32), (1, 85, 128, 192)),
        # Thesis layer timings: 16x512x512x3 inputs, 100 filters 3x3.
        "thesis_conv_s1": Case("thesis_conv_s1", conv3(filters=100), (16, 512, 512, 3)),
        "thesis_conv_s2": Case("thesis_conv_s2", conv3(filters=100, stride=2),
                               (16, 512, 512, 3)),
        "thesis_maxpool3": Case("thesis_maxpool3",
                                specs.MaxPool2D(size=3, stride=1, padding="valid"),
                                (16, 512, 512, 3)),
        # 30x30 with stride 20 is the thesis' max-pool figure (fig. 2.5).
        "thesis_maxpool30": Case("thesis_maxpool30",
                                 specs.MaxPool2D(size=30, stride=20, padding="valid"),
                                 (16, 512, 512, 3)),
        # 16x512x512x108 float32 is 1.8 GB in and 1.8 GB out: too big for a small 2-core machine
        # next to a backward pass, hence the documented batch-2 variant (226 MB each way).
        "thesis_shuffle6": Case("thesis_shuffle6", specs.PixelShuffle(scale=6),
                                (16, 512, 512, 108)),
        "thesis_shuffle6_b2": Case("thesis_shuffle6_b2", specs.PixelShuffle(scale=6),
                                   (2, 512, 512, 108),
                                   note="thesis_shuffle6 with batch 2 instead of 16 (memory)"),
    }
    # tiny_*: same layer, same hyper-parameters, a CI-smoke-sized input (and 1/8 of the
    # filters where there are more than 16: the second entry, None for the others).
    tiny_shapes = {
        "edsr_body": ((1, 12, 10, 16), 32), "edsr_small": ((1, 16, 16, 8), 8),
        "wdsr_expand": ((1, 9, 8, 4), 24), "wdsr_reduce": ((1, 9, 8, 24), 4),
        "thesis_conv_s1": ((2, 16, 16, 3), 12), "thesis_conv_s2": ((2, 16, 16, 3), 12),
        "thesis_maxpool3": ((2, 16, 16, 3), None), "thesis_maxpool30": ((2, 64, 64, 3), None),
        "thesis_shuffle6": ((2, 8, 8, 108), None), "thesis_shuffle6_b2": ((2, 8, 8, 108), None),
    }
    tiny = {}
    for name, case in full.items():
        shape, filters = tiny_shapes[name]
        spec = case.spec if filters is None else dataclasses.replace(case.spec, filters=filters)
        tiny[f"tiny_{name}"] = Case(f"tiny_{name}", spec, shape,
                                    note=f"CI-sized version of {name}")
    return {**full, **tiny}


PRESETS: dict[str, Case] = _presets()
