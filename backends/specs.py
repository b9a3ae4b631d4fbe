"""Layer specifications: frozen, keyword-only dataclasses that validate themselves.

A spec is data. It knows its hyper-parameters, the shapes of its parameters and its output
shape for a given NHWC input shape; it knows nothing about arrays or backends.
Padding follows TensorFlow: ``"same"`` gives ``ceil(n / stride)`` outputs and puts the odd
extra row/column of padding at the bottom/right; ``"valid"`` pads nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, Literal

from .activations import ACTIVATIONS
from .errors import ShapeError, SpecError, expected

NHWC = tuple[int, int, int, int]
Pads = tuple[int, int, int, int]  # top, bottom, left, right


def _pair(owner: str, name: str, value: object) -> tuple[int, int]:
    """Normalise an int or a pair of ints to a pair of positive ints."""
    pair = (value, value) if isinstance(value, int) else value
    ok = (
        isinstance(pair, tuple | list)
        and len(pair) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in pair)
    )
    if not ok:
        raise SpecError(expected(f"{owner}.{name}", "an integer >= 1 or a pair of them", value))
    return int(pair[0]), int(pair[1])


def _positive_int(owner: str, name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise SpecError(expected(f"{owner}.{name}", "an integer >= 1", value))


def _choice(owner: str, name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(expected(f"{owner}.{name}", f"one of {choices}", value))


def _finite_number(owner: str, name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SpecError(expected(f"{owner}.{name}", "a finite number", value))


def check_input_shape(owner: str, shape: object) -> NHWC:
    """Validate an NHWC shape tuple (all sizes >= 1)."""
    ok = (
        isinstance(shape, tuple | list)
        and len(shape) == 4
        and all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in shape)
    )
    if not ok:
        raise ShapeError(expected(f"{owner}.input_shape", "4 positive ints (N, H, W, C)", shape))
    return tuple(int(s) for s in shape)  # type: ignore[return-value]


def window_geometry(
    owner: str, size: int, kernel: int, stride: int, padding: str, axis: str
) -> tuple[int, int, int]:
    """Output size and (before, after) padding of one spatial axis, TensorFlow convention."""
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    if size < kernel:
        raise ShapeError(
            expected(f"{owner} input {axis}", f">= kernel size {kernel} with padding='valid'", size)
        )
    return (size - kernel) // stride + 1, 0, 0


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerSpec:
    """Base of every spec. ``layer_type`` names the layer family; ``n_inputs`` is 1 or 2."""

    layer_type: ClassVar[str] = "layer"
    n_inputs: ClassVar[int] = 1

    def output_shape(self, input_shape: NHWC) -> NHWC:
        """NHWC shape of the output for an NHWC input shape (identity by default)."""
        return check_input_shape(type(self).__name__, input_shape)

    def param_shapes(self, input_shape: NHWC) -> dict[str, tuple[int, ...]]:
        """Shapes of the trainable parameters, ``{}`` for weightless layers."""
        return {}

    def input_shapes(self, first: NHWC) -> tuple[NHWC, ...]:
        """Shapes every input must have, given the first one's (all equal by default)."""
        return (first,) * self.n_inputs


@dataclass(frozen=True, kw_only=True, slots=True)
class _Windowed(LayerSpec):
    """Shared geometry of convolution and pooling windows."""

    def _window(self) -> tuple[tuple[int, int], tuple[int, int], str]:
        raise NotImplementedError

    def geometry(self, input_shape: NHWC) -> tuple[int, int, Pads]:
        """Output height, width and the (top, bottom, left, right) padding."""
        n, h, w, c = check_input_shape(type(self).__name__, input_shape)
        (kh, kw), (sh, sw), padding = self._window()
        name = type(self).__name__
        ho, top, bottom = window_geometry(name, h, kh, sh, padding, "height")
        wo, left, right = window_geometry(name, w, kw, sw, padding, "width")
        return ho, wo, (top, bottom, left, right)


@dataclass(frozen=True, kw_only=True, slots=True)
class Conv2D(_Windowed):
    """2-D convolution (cross-correlation, as in TensorFlow) with HWIO kernels.

    ``algo="winograd"`` is F(2x2, 3x3), ``"winograd4"`` F(4x4, 3x3); both exist only for 3x3
    kernels with stride 1.
    ``algo="auto"`` picks, per input shape, dtype, thread count and backend, the fastest of
    the algorithms eligible for the shape (measured once, cached on disk; see
    ``backends.autotune``). ``activation="relu"`` fuses ``y = max(conv(x) + b, 0)`` into the
    convolution's output pass (same numbers as Conv2D followed by Activation("relu")).
    """

    layer_type: ClassVar[str] = "conv2d"
    filters: int
    kernel: tuple[int, int] | int = (3, 3)
    stride: tuple[int, int] | int = (1, 1)
    padding: Literal["same", "valid"] = "same"
    use_bias: bool = True
    algo: Literal["im2col", "winograd", "winograd4", "auto"] = "im2col"
    activation: Literal["linear", "relu"] = "linear"

    def __post_init__(self) -> None:
        name = type(self).__name__
        _positive_int(name, "filters", self.filters)
        object.__setattr__(self, "kernel", _pair(name, "kernel", self.kernel))
        object.__setattr__(self, "stride", _pair(name, "stride", self.stride))
        _choice(name, "padding", self.padding, ("same", "valid"))
        _choice(name, "algo", self.algo, ("im2col", "winograd", "winograd4", "auto"))
        _choice(name, "activation", self.activation, ("linear", "relu"))
        if not isinstance(self.use_bias, bool):
            raise SpecError(expected(f"{name}.use_bias", "a bool", self.use_bias))
        if self.algo in ("winograd", "winograd4") and not self.winograd_eligible():
            raise SpecError(
                f"{name}.algo: {self.algo!r} is F(2x2,3x3) / F(4x4,3x3) and needs "
                f"kernel=(3, 3) and stride=(1, 1), received kernel={self.kernel} "
                f"stride={self.stride}"
            )

    def winograd_eligible(self) -> bool:
        """Whether the Winograd algorithms apply (3x3 kernel, stride 1)."""
        return self.kernel == (3, 3) and self.stride == (1, 1)

    def algos(self) -> tuple[str, ...]:
        """The concrete algorithms that compute this convolution (``auto`` picks among them)."""
        if self.algo != "auto":
            return (self.algo,)
        if self.winograd_eligible():
            return ("im2col", "winograd", "winograd4")
        return ("im2col",)

    def input_shapes(self, first: NHWC) -> tuple[NHWC, ...]:
        """Shapes every input must have, given the first one's."""
        return (first,)

    def _window(self):
        return self.kernel, self.stride, self.padding

    def output_shape(self, input_shape: NHWC) -> NHWC:
        ho, wo, _ = self.geometry(input_shape)
        return (input_shape[0], ho, wo, self.filters)

    def param_shapes(self, input_shape: NHWC) -> dict[str, tuple[int, ...]]:
        kh, kw = self.kernel
        shapes: dict[str, tuple[int, ...]] = {"weights": (kh, kw, input_shape[3], self.filters)}
        if self.use_bias:
            shapes["bias"] = (self.filters,)
        return shapes


@dataclass(frozen=True, kw_only=True, slots=True)
class Conv2DAdd(Conv2D):
    """A convolution with the residual sum fused into its output pass:
    ``y = alpha * (conv(x1) + b) + beta * x2`` (``x2`` has the output's shape).

    The same numbers as Conv2D followed by ``Shortcut(alpha, beta)``, written once; EDSR's
    and WDSR's ``x + res_scale * conv(...)`` is ``alpha = res_scale, beta = 1``. The fused
    activation is not allowed here: ``activation`` must stay ``"linear"``.
    """

    layer_type: ClassVar[str] = "conv2d_add"
    n_inputs: ClassVar[int] = 2
    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        Conv2D.__post_init__(self)
        _finite_number("Conv2DAdd", "alpha", self.alpha)
        _finite_number("Conv2DAdd", "beta", self.beta)
        if self.activation != "linear":
            raise SpecError(expected("Conv2DAdd.activation", "'linear' (the sum comes last)",
                                     self.activation))

    def input_shapes(self, first: NHWC) -> tuple[NHWC, ...]:
        return (first, self.output_shape(first))


@dataclass(frozen=True, kw_only=True, slots=True)
class _Pool(_Windowed):
    size: tuple[int, int] | int = (2, 2)
    stride: tuple[int, int] | int | None = None
    padding: Literal["same", "valid"] = "valid"

    def __post_init__(self) -> None:
        name = type(self).__name__
        object.__setattr__(self, "size", _pair(name, "size", self.size))
        stride = self.size if self.stride is None else self.stride
        object.__setattr__(self, "stride", _pair(name, "stride", stride))
        _choice(name, "padding", self.padding, ("same", "valid"))

    def _window(self):
        return self.size, self.stride, self.padding

    def output_shape(self, input_shape: NHWC) -> NHWC:
        ho, wo, _ = self.geometry(input_shape)
        return (input_shape[0], ho, wo, input_shape[3])


@dataclass(frozen=True, kw_only=True, slots=True)
class MaxPool2D(_Pool):
    """Max pooling; padded cells never win. ``stride`` defaults to ``size``."""

    layer_type: ClassVar[str] = "maxpool2d"


@dataclass(frozen=True, kw_only=True, slots=True)
class AvgPool2D(_Pool):
    """Average pooling over the cells inside the input (padding is not counted, as in TF)."""

    layer_type: ClassVar[str] = "avgpool2d"


@dataclass(frozen=True, kw_only=True, slots=True)
class Shortcut(LayerSpec):
    """Weighted sum of two inputs of equal shape: ``y = alpha * x1 + beta * x2``."""

    layer_type: ClassVar[str] = "shortcut"
    n_inputs: ClassVar[int] = 2
    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        _finite_number("Shortcut", "alpha", self.alpha)
        _finite_number("Shortcut", "beta", self.beta)


@dataclass(frozen=True, kw_only=True, slots=True)
class PixelShuffle(LayerSpec):
    """Rearrange (H, W, C*r*r) into (H*r, W*r, C).

    ``order="dcr"`` matches ``tf.nn.depth_to_space``; ``order="crd"`` matches
    ``torch.nn.PixelShuffle``.
    """

    layer_type: ClassVar[str] = "pixelshuffle"
    scale: int
    order: Literal["dcr", "crd"] = "dcr"

    def __post_init__(self) -> None:
        _positive_int("PixelShuffle", "scale", self.scale)
        _choice("PixelShuffle", "order", self.order, ("dcr", "crd"))

    def output_shape(self, input_shape: NHWC) -> NHWC:
        n, h, w, c = check_input_shape("PixelShuffle", input_shape)
        r2 = self.scale * self.scale
        if c % r2:
            raise ShapeError(
                expected("PixelShuffle input channels", f"a multiple of scale**2 = {r2}", c)
            )
        return (n, h * self.scale, w * self.scale, c // r2)


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchNorm(LayerSpec):
    """Batch normalisation with per-channel statistics over (N, H, W), Keras conventions.

    ``momentum`` weighs the old running value: ``running = momentum * running + (1 -
    momentum) * batch``; the running variance uses the biased batch variance, as Keras does.
    """

    layer_type: ClassVar[str] = "batchnorm"
    epsilon: float = 1e-3
    momentum: float = 0.99

    def __post_init__(self) -> None:
        _finite_number("BatchNorm", "epsilon", self.epsilon)
        if self.epsilon <= 0:
            raise SpecError(expected("BatchNorm.epsilon", "a number > 0", self.epsilon))
        _finite_number("BatchNorm", "momentum", self.momentum)
        if not 0.0 <= self.momentum <= 1.0:
            raise SpecError(expected("BatchNorm.momentum", "a number in [0, 1]", self.momentum))

    def param_shapes(self, input_shape: NHWC) -> dict[str, tuple[int, ...]]:
        c = input_shape[3]
        return {"gamma": (c,), "beta": (c,)}


@dataclass(frozen=True, kw_only=True, slots=True)
class Activation(LayerSpec):
    """Element-wise activation; ``kind`` names one of the 17 entries of ``ACTIVATIONS``."""

    layer_type: ClassVar[str] = "activation"
    kind: str = "relu"

    def __post_init__(self) -> None:
        _choice("Activation", "kind", self.kind, tuple(ACTIVATIONS))


@dataclass(frozen=True, kw_only=True, slots=True)
class Connected(LayerSpec):
    """Dense layer on the flattened (H*W*C) input; output shape (N, 1, 1, units)."""

    layer_type: ClassVar[str] = "connected"
    units: int
    use_bias: bool = True

    def __post_init__(self) -> None:
        _positive_int("Connected", "units", self.units)
        if not isinstance(self.use_bias, bool):
            raise SpecError(expected("Connected.use_bias", "a bool", self.use_bias))

    def output_shape(self, input_shape: NHWC) -> NHWC:
        n = check_input_shape("Connected", input_shape)[0]
        return (n, 1, 1, self.units)

    def param_shapes(self, input_shape: NHWC) -> dict[str, tuple[int, ...]]:
        _, h, w, c = input_shape
        shapes: dict[str, tuple[int, ...]] = {"weights": (h * w * c, self.units)}
        if self.use_bias:
            shapes["bias"] = (self.units,)
        return shapes


@dataclass(frozen=True, kw_only=True, slots=True)
class Upsample(LayerSpec):
    """Nearest-neighbour upsampling by an integer ``scale`` along height and width."""

    layer_type: ClassVar[str] = "upsample"
    scale: int

    def __post_init__(self) -> None:
        _positive_int("Upsample", "scale", self.scale)

    def output_shape(self, input_shape: NHWC) -> NHWC:
        n, h, w, c = check_input_shape("Upsample", input_shape)
        return (n, h * self.scale, w * self.scale, c)


@dataclass(frozen=True, kw_only=True, slots=True)
class Loss:
    """A loss, averaged over every element: ``mse``, ``mae`` or ``smooth_l1`` (Huber, ``delta``)."""

    kind: Literal["mse", "mae", "smooth_l1"] = "mse"
    delta: float = 1.0

    def __post_init__(self) -> None:
        _choice("Loss", "kind", self.kind, ("mse", "mae", "smooth_l1"))
        _finite_number("Loss", "delta", self.delta)
        if self.delta <= 0:
            raise SpecError(expected("Loss.delta", "a number > 0", self.delta))


ALL_SPECS: tuple[type[LayerSpec], ...] = (
    Conv2D, Conv2DAdd, MaxPool2D, AvgPool2D, Shortcut, PixelShuffle, BatchNorm, Activation,
    Connected,
    Upsample,
)
