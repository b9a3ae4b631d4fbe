"""Layer specifications: frozen, keyword-only dataclasses that validate themselves.

A spec is data. It knows its hyper-parameters, the shapes of its parameters and its output
shape for a given NHWC input shape; it knows nothing about arrays or backends.
Padding follows TensorFlow: ``"same"`` gives ``ceil(n / stride)`` outputs and puts the odd
extra row/column of padding at the bottom/right; ``"valid"`` pads nothing.

A spec also *states the facts* the rest of the project computes from: how many
terms are summed into each element of each tensor (:meth:`Stated.reduction_length`, read by
the tolerance tiers of ``backends/testing/tolerances.py``), how much arithmetic it does
(:meth:`Stated.flops`, read by the benchmark GFLOP/s) and how far it reaches in space
(:meth:`LayerSpec.reach`, read by the receptive radius and tile overlap of
``layerbench/models/graph.py``). A spec class that does not state one of them raises
``NotImplementedError`` naming the class when asked, so a new layer cannot silently fall into
the element-wise tolerance tier or get too small a tile overlap.

Tensor names are the harness's: ``y`` (output; a loss's value), ``dx`` (``da``/``db`` for two
inputs), ``grad/<param>`` and ``state/<buffer>``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
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
    """Validate an NHWC shape tuple (all sizes >= 1).

    Parameters
    ----------
    owner : str
        Who asks (the spec's class name), for the error message.
    shape : object
        The shape to check.

    Returns
    -------
    tuple of int
        ``(N, H, W, C)`` as Python ints.

    Raises
    ------
    ShapeError
        ``shape`` is not a tuple or list of 4 positive ints.

    Examples
    --------
    >>> check_input_shape("Conv2D", [1, 8, 8, 3])
    (1, 8, 8, 3)
    """
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
    """Output size and (before, after) padding of one spatial axis, TensorFlow convention.

    ``"same"``: ``out = ceil(size / stride)``, total padding
    ``max((out - 1) stride + kernel - size, 0)``, the odd cell after. ``"valid"``:
    ``out = (size - kernel) // stride + 1``, no padding.

    Parameters
    ----------
    owner : str
        Who asks, for the error message.
    size : int
        Input size along the axis.
    kernel : int
        Window size along the axis.
    stride : int
        Stride along the axis.
    padding : {"same", "valid"}
        TensorFlow's padding mode.
    axis : str
        The axis' name (``"height"``, ``"width"``), for the error message.

    Returns
    -------
    out, before, after : int
        Output size and the padding before and after.

    Raises
    ------
    ShapeError
        ``padding="valid"`` and the input is smaller than the window.

    Examples
    --------
    >>> window_geometry("Conv2D", 5, 3, 2, "same", "height")
    (3, 1, 1)
    >>> window_geometry("Conv2D", 6, 3, 2, "same", "height")
    (3, 0, 1)
    """
    if padding == "same":
        out = -(-size // stride)
        total = max((out - 1) * stride + kernel - size, 0)
        return out, total // 2, total - total // 2
    if size < kernel:
        raise ShapeError(
            expected(f"{owner} input {axis}", f">= kernel size {kernel} with padding='valid'", size)
        )
    return (size - kernel) // stride + 1, 0, 0


DIRECTIONS = ("forward", "backward")


def _not_stated(obj: object, fact: str) -> NotImplementedError:
    return NotImplementedError(
        f"{type(obj).__name__} does not state its {fact}: every spec class must implement it "
        f"(see backends/specs.py, 'How to add a layer' in the README)")


def _check_direction(owner: str, direction: str) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(expected(f"{owner}.flops direction", f"one of {DIRECTIONS}",
                                  direction))


def _unknown_tensor(obj: object, tensor: str, known: str) -> ValueError:
    return ValueError(expected(f"{type(obj).__name__} tensor", known, tensor))


def _unsummed(obj: object, tensor: str, names: tuple[str, ...] = ("y", "dx")) -> int:
    """Reduction length 1 of the tensors ``names`` of a layer that sums nothing."""
    if tensor in names:
        return 1
    raise _unknown_tensor(obj, tensor, ", ".join(names))


def _per_element(obj: object, input_shape: NHWC, direction: str, forward: int,
                 backward: int) -> int:
    """FLOPs of ``forward`` / ``backward`` operations per input element."""
    _check_direction(type(obj).__name__, direction)
    return (forward if direction == "forward" else backward) * math.prod(input_shape)


@dataclass(frozen=True)
class Reach:
    """How far one layer reaches in space, at inference.

    Parameters
    ----------
    radius : int or None
        Half-width, in pixels of the layer's (first) input, of the window one output pixel
        reads: ``max(kernel) // 2`` for convolution and pooling windows, 0 for pixel-wise and
        data-movement layers, ``None`` when every output reads the whole input (dense).
    scale : Fraction
        Output pixels per input pixel along height and width: ``r`` for a pixel shuffle or an
        upsample by ``r``, ``1 / stride`` for a strided window, 1 otherwise.
    same_grid : bool
        Output pixel ``(i, j)`` covers input pixel ``(i, j) / scale`` and the border does not
        shrink (stride-1 ``"same"`` windows, pixel-wise layers, shuffles, upsampling): a tile
        with a margin of the receptive radius computes its core exactly, with no border
        bookkeeping.
    """

    radius: int | None
    scale: Fraction = Fraction(1)
    same_grid: bool = True


@dataclass(frozen=True, kw_only=True, slots=True)
class Stated:
    """Facts every spec (layer or loss) states; the base raises ``NotImplementedError``.

    Class attributes (data, read instead of ``isinstance`` chains):

    ``is_loss``
        a loss (prediction and target in, a scalar out; run by ``LossFunction``).
    ``moves_data``
        the tensors it does not sum (reduction length 1) are copies of input values, exact on
        every backend (pixel shuffle, upsample, max pooling).
    ``gemm_like``
        its arithmetic is multiply-adds a GEMM-shaped kernel does, so its FLOP rate is
        comparable to the measured sgemm peak (convolution, dense).
    ``input_data``
        how a comparison's test inputs are drawn so that it is well-conditioned
        (``backends/testing/data.py``): ``"uniform"`` U(-1, 1); ``"distinct"`` pairwise
        distinct values (no ties for a max); ``"away_from_kinks"`` at least ``KINK_MARGIN``
        from every point of :attr:`kinks`; ``"channel_spread"`` per-channel offsets and
        spreads (batch statistics far from zero variance).
    """

    layer_type: ClassVar[str] = "layer"
    is_loss: ClassVar[bool] = False
    moves_data: ClassVar[bool] = False
    gemm_like: ClassVar[bool] = False
    input_data: ClassVar[str] = "uniform"

    @property
    def kinks(self) -> tuple[float, ...]:
        """Points where the element-wise function of the layer is not differentiable."""
        return ()

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """Number of terms summed into one element of ``tensor`` (1: computed element-wise).

        Rounding errors of a sum of ``K`` terms random-walk, so the tolerance of a tensor
        grows as ``sqrt(K)`` (``backends/testing/tolerances.py``).

        Parameters
        ----------
        input_shape : tuple of int
            NHWC input shape.
        tensor : str
            ``y``, ``dx``, ``da``/``db``, ``grad/<param>`` or ``state/<buffer>``.
        training : bool, default False
            The mode of the forward pass (batch statistics).

        Returns
        -------
        int
            ``K``.

        Raises
        ------
        NotImplementedError
            The class does not state it.
        """
        raise _not_stated(self, "reduction length per tensor (reduction_length)")

    def arithmetic(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> str:
        """How the elements of ``tensor`` are computed, which picks its tolerance tier.

        ``"sum"`` (reduction length > 1), ``"copy"`` (length 1 and ``moves_data``: input
        values moved, no rounding), ``"formula"`` (length 1, one formula per element) or
        ``"transform"`` (a Winograd-transformed sum, see :class:`Conv2D`).

        Parameters
        ----------
        input_shape, tensor, training
            As in :meth:`reduction_length`.

        Returns
        -------
        str
            One of the four names above.
        """
        k = self.reduction_length(input_shape, tensor, training=training)
        if k > 1:
            return "sum"
        return "copy" if self.moves_data else "formula"

    def cancelling(self, tensor: str, *, training: bool = False) -> str | None:
        """Name of the formula whose terms can cancel far below their own size in ``tensor``.

        Its tolerance then scales with the terms, not the result
        (``backends/testing/tolerances.py`` ``term_scale``).

        Parameters
        ----------
        tensor : str
            As in :meth:`reduction_length`.
        training : bool, default False
            The mode of the forward pass.

        Returns
        -------
        str or None
            ``None`` where nothing cancels.
        """
        return None

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """Floating-point operations of one ``direction`` pass on ``input_shape``.

        A multiply-add counts 2; each class states its formula in its docstring.

        Parameters
        ----------
        input_shape : tuple of int
            NHWC input shape.
        direction : {"forward", "backward"}, default "forward"
            The pass.
        training : bool, default False
            The forward mode (batch statistics).

        Returns
        -------
        int
            The count.

        Raises
        ------
        NotImplementedError
            The class does not state it.
        """
        raise _not_stated(self, "FLOPs for an input shape (flops)")


@dataclass(frozen=True, kw_only=True, slots=True)
class LayerSpec(Stated):
    """Base of every layer spec. ``layer_type`` names the layer family; ``n_inputs`` is 1 or 2.

    Besides :class:`Stated`'s: ``has_weights`` (a ``weights`` kernel and an optional
    ``bias``, what Keras and PyTorch weight files store per layer) and ``has_workspace``
    (its kernels allocate a workspace proportional to the output, im2col columns or
    Winograd tiles, so inference runs it in row bands: ``layerbench.models.inference``).
    """

    n_inputs: ClassVar[int] = 1
    has_weights: ClassVar[bool] = False
    has_workspace: ClassVar[bool] = False

    def reach(self) -> Reach:
        """How far one output pixel reaches into the input (:class:`Reach`)."""
        raise _not_stated(self, "spatial reach (reach)")

    def state_shapes(self, input_shape: NHWC) -> dict[str, tuple[int, ...]]:
        """Shapes of the non-trainable buffers (running statistics), ``{}`` for most.

        Parameters
        ----------
        input_shape : tuple of int
            NHWC input shape.

        Returns
        -------
        dict of str to tuple of int
            Buffer name to shape.
        """
        return {}

    def output_shape(self, input_shape: NHWC) -> NHWC:
        """NHWC shape of the output for an NHWC input shape (identity by default).

        Parameters
        ----------
        input_shape : tuple of int
            NHWC input shape (of the first input for two-input layers).

        Returns
        -------
        tuple of int
            NHWC output shape.

        Raises
        ------
        ShapeError
            ``input_shape`` is not 4 positive ints, or does not fit the layer (e.g. a
            channel count a pixel shuffle cannot divide).

        Examples
        --------
        >>> from backends import specs
        >>> specs.Conv2D(filters=8, stride=2).output_shape((1, 9, 9, 3))
        (1, 5, 5, 8)
        >>> specs.PixelShuffle(scale=2).output_shape((1, 4, 4, 12))
        (1, 8, 8, 3)
        """
        return check_input_shape(type(self).__name__, input_shape)

    def param_shapes(self, input_shape: NHWC) -> dict[str, tuple[int, ...]]:
        """Shapes of the trainable parameters, ``{}`` for weightless layers.

        Parameters
        ----------
        input_shape : tuple of int
            NHWC input shape.

        Returns
        -------
        dict of str to tuple of int
            Parameter name (``weights``, ``bias``, ``gamma``, ``beta``) to shape.

        Examples
        --------
        >>> from backends import specs
        >>> specs.Conv2D(filters=8).param_shapes((1, 9, 9, 3))
        {'weights': (3, 3, 3, 8), 'bias': (8,)}
        """
        return {}

    def input_shapes(self, first: NHWC) -> tuple[NHWC, ...]:
        """Shapes every input must have, given the first one's (all equal by default).

        Parameters
        ----------
        first : tuple of int
            NHWC shape of the first input.

        Returns
        -------
        tuple of tuple of int
            One NHWC shape per input (``n_inputs`` of them).
        """
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

    def reach(self) -> Reach:
        """``radius = max(kernel) // 2``, ``scale = 1 / max(stride)`` (the coarser axis, so
        the radius of what follows is not underestimated), same grid for stride-1 "same"."""
        (kh, kw), (sh, sw), padding = self._window()
        return Reach(max(kh, kw) // 2, Fraction(1, max(sh, sw)),
                     padding == "same" and (sh, sw) == (1, 1))

    def _overlap(self) -> int:
        """Windows that cover one input pixel: ``ceil(kh / sh) ceil(kw / sw)``."""
        (kh, kw), (sh, sw), _ = self._window()
        return -(-kh // sh) * -(-kw // sw)


@dataclass(frozen=True, kw_only=True, slots=True)
class Conv2D(_Windowed):
    """2-D convolution (cross-correlation, as in TensorFlow) with HWIO kernels.

    ``algo="winograd"`` is F(2x2, 3x3), ``"winograd4"`` F(4x4, 3x3); both exist only for 3x3
    kernels with stride 1.
    ``algo="auto"`` picks, per input shape, dtype, thread count and backend, the fastest of
    the algorithms eligible for the shape (measured once, cached on disk; see
    ``backends.autotune``). ``activation="relu"`` fuses ``y = max(conv(x) + b, 0)`` into the
    convolution's output pass (same numbers as Conv2D followed by Activation("relu")).

    Forward: ``y[n, i, j, o] = b[o] + sum_{u, v, c} x[n, s_h i + u, s_w j + v, c] w[u, v, c, o]``
    (after padding). Backward: ``dx`` is the transposed convolution of ``dy`` with ``w``;
    ``dw[u, v, c, o] = sum_{n, i, j} x[n, s_h i + u, s_w j + v, c] dy[n, i, j, o]``;
    ``db[o] = sum_{n, i, j} dy[n, i, j, o]``.

    Parameters
    ----------
    filters : int
        Number of output channels (positive).
    kernel : int or tuple of int, default (3, 3)
        Kernel height and width; an int means a square kernel.
    stride : int or tuple of int, default (1, 1)
        Vertical and horizontal stride; an int means the same for both.
    padding : {"same", "valid"}, default "same"
        ``"same"`` pads as TensorFlow does (output ``ceil(H / s_h)``); ``"valid"`` does not pad.
    use_bias : bool, default True
        Whether ``b`` is added.
    algo : {"im2col", "winograd", "winograd4", "auto"}, default "im2col"
        The convolution algorithm (see above).
    activation : {"linear", "relu"}, default "linear"
        Fused output activation.
    """

    layer_type: ClassVar[str] = "conv2d"
    gemm_like: ClassVar[bool] = True
    has_weights: ClassVar[bool] = True
    has_workspace: ClassVar[bool] = True
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
        """Whether the Winograd algorithms apply (3x3 kernel, stride 1).

        Returns
        -------
        bool
            True for a 3x3 kernel with stride 1.
        """
        return self.kernel == (3, 3) and self.stride == (1, 1)

    def algos(self) -> tuple[str, ...]:
        """The concrete algorithms that compute this convolution (``auto`` picks among them).

        Returns
        -------
        tuple of str
            ``(algo,)``, or for ``auto`` ``im2col`` and the eligible Winograd variants.

        Examples
        --------
        >>> Conv2D(filters=4, algo="auto").algos()
        ('im2col', 'winograd', 'winograd4')
        """
        if self.algo != "auto":
            return (self.algo,)
        if self.winograd_eligible():
            return ("im2col", "winograd", "winograd4")
        return ("im2col",)

    def input_shapes(self, first: NHWC) -> tuple[NHWC, ...]:
        """Shapes every input must have, given the first one's: one input.

        Parameters
        ----------
        first : tuple of int
            NHWC shape of the input.

        Returns
        -------
        tuple of tuple of int
            ``(first,)`` (:class:`Conv2DAdd` adds the skip, shaped like the output).
        """
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

    def _dx_length(self) -> int:
        """``dx`` sums the overlapping windows through every filter: ``ceil(kh/sh)
        ceil(kw/sw) F``."""
        return self._overlap() * self.filters

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """``y``: ``kh kw C`` products; ``dx``: ``ceil(kh/sh) ceil(kw/sw) F``;
        ``grad/weights`` and ``grad/bias``: ``N Ho Wo`` (batch and positions)."""
        kh, kw = self.kernel
        if tensor == "y":
            return kh * kw * input_shape[3]
        if tensor == "dx":
            return self._dx_length()
        return self._grad_length(input_shape, tensor, "y, dx, grad/<param>")

    def _grad_length(self, input_shape: NHWC, tensor: str, known: str) -> int:
        if tensor.startswith("grad/") and tensor[5:] in self.param_shapes(input_shape):
            ho, wo, _ = self.geometry(input_shape)
            return input_shape[0] * ho * wo
        raise _unknown_tensor(self, tensor, known)

    def arithmetic(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> str:
        """``"transform"`` for ``y`` wherever Winograd F(2x2,3x3) / F(4x4,3x3) may compute it
        (also ``algo="auto"`` when one of them is a choice); otherwise as :class:`Stated`."""
        if tensor == "y" and {"winograd", "winograd4"} & set(self.algos()):
            return "transform"
        return Stated.arithmetic(self, input_shape, tensor, training=training)

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """Direct convolution: ``2 N Ho Wo kh kw C F`` forward (bias, fused activation and
        residual sum are ``1 / (kh kw C)`` of it and not counted; Winograd is charged the
        same, an effective rate); backward twice that (``dx`` and ``grad/weights``)."""
        _check_direction(type(self).__name__, direction)
        n, _, _, c = input_shape
        ho, wo, _ = self.geometry(input_shape)
        kh, kw = self.kernel
        forward = 2 * n * ho * wo * kh * kw * c * self.filters
        return forward * (2 if direction == "backward" else 1)


@dataclass(frozen=True, kw_only=True, slots=True)
class Conv2DAdd(Conv2D):
    """A convolution with the residual sum fused into its output pass:
    ``y = alpha * (conv(x1) + b) + beta * x2`` (``x2`` has the output's shape).

    The same numbers as Conv2D followed by ``Shortcut(alpha, beta)``, written once; EDSR's
    and WDSR's ``x + res_scale * conv(...)`` is ``alpha = res_scale, beta = 1``. The fused
    activation is not allowed here: ``activation`` must stay ``"linear"``.

    Parameters
    ----------
    filters, kernel, stride, padding, use_bias, algo
        As in :class:`Conv2D`.
    activation : {"linear"}, default "linear"
        Kept for the shared fields; anything else raises ``SpecError``.
    alpha : float, default 1.0
        Weight of the convolution's output.
    beta : float, default 1.0
        Weight of the skip ``x2``.
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

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """As :class:`Conv2D`, with ``da`` the convolution's ``dx`` and ``db = beta dy``
        element-wise (1)."""
        if tensor == "da":
            return self._dx_length()
        if tensor == "db":
            return 1
        if tensor == "y":
            return Conv2D.reduction_length(self, input_shape, tensor, training=training)
        return self._grad_length(input_shape, tensor, "y, da, db, grad/<param>")


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

    def _y_length(self) -> int:
        raise NotImplementedError

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """``y``: see the class; ``dx``: the windows covering one input pixel,
        ``ceil(kh/sh) ceil(kw/sw)``."""
        if tensor == "y":
            return self._y_length()
        if tensor == "dx":
            return self._overlap()
        raise _unknown_tensor(self, tensor, "y, dx")

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """``N Ho Wo C kh kw``: one comparison (max) or addition (average) per window cell;
        backward counted the same (the average spreads ``dy`` over the window, the max
        routes it to the window's maximum)."""
        _check_direction(type(self).__name__, direction)
        n, _, _, c = input_shape
        ho, wo, _ = self.geometry(input_shape)
        kh, kw = self.size
        return n * ho * wo * c * kh * kw


@dataclass(frozen=True, kw_only=True, slots=True)
class MaxPool2D(_Pool):
    """Max pooling; padded cells never win. ``stride`` defaults to ``size``.

    ``y`` selects one input value (reduction length 1, a copy); test inputs are distinct so
    that the maximum of a window is unique.

    Parameters
    ----------
    size : int or tuple of int, default (2, 2)
        Window height and width; an int means a square window.
    stride : int or tuple of int, optional
        Vertical and horizontal stride (default: ``size``).
    padding : {"valid", "same"}, default "valid"
        TensorFlow's padding mode.
    """

    layer_type: ClassVar[str] = "maxpool2d"
    moves_data: ClassVar[bool] = True
    input_data: ClassVar[str] = "distinct"

    def _y_length(self) -> int:
        return 1


@dataclass(frozen=True, kw_only=True, slots=True)
class AvgPool2D(_Pool):
    """Average pooling over the cells inside the input (padding is not counted, as in TF).

    ``y`` sums ``kh kw`` cells.

    Parameters
    ----------
    size, stride, padding
        As in :class:`MaxPool2D`.
    """

    layer_type: ClassVar[str] = "avgpool2d"

    def _y_length(self) -> int:
        kh, kw = self.size
        return kh * kw


@dataclass(frozen=True, kw_only=True, slots=True)
class Shortcut(LayerSpec):
    """Weighted sum of two inputs of equal shape: ``y = alpha * x1 + beta * x2``.

    Parameters
    ----------
    alpha : float, default 1.0
        Weight of the first input.
    beta : float, default 1.0
        Weight of the second input.
    """

    layer_type: ClassVar[str] = "shortcut"
    n_inputs: ClassVar[int] = 2
    alpha: float = 1.0
    beta: float = 1.0

    def __post_init__(self) -> None:
        _finite_number("Shortcut", "alpha", self.alpha)
        _finite_number("Shortcut", "beta", self.beta)

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """Every tensor (``y``, ``da = alpha dy``, ``db = beta dy``) is element-wise: 1."""
        return _unsummed(self, tensor, ("y", "da", "db"))

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """Per output element 3 forward (two products, one sum), 2 backward."""
        return _per_element(self, input_shape, direction, 3, 2)

    def reach(self) -> Reach:
        return Reach(0)


@dataclass(frozen=True, kw_only=True, slots=True)
class PixelShuffle(LayerSpec):
    """Rearrange (H, W, C*r*r) into (H*r, W*r, C).

    ``order="dcr"`` matches ``tf.nn.depth_to_space``; ``order="crd"`` matches
    ``torch.nn.PixelShuffle``.

    Parameters
    ----------
    scale : int
        The factor ``r`` (positive); the input's channel count must divide by ``r * r``.
    order : {"dcr", "crd"}, default "dcr"
        Which channel goes where (see above).
    """

    layer_type: ClassVar[str] = "pixelshuffle"
    moves_data: ClassVar[bool] = True
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

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """A permutation both ways: 1 (``y`` and ``dx`` are copies)."""
        return _unsummed(self, tensor)

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """0: data movement only."""
        return _per_element(self, input_shape, direction, 0, 0)

    def reach(self) -> Reach:
        """Radius 0, resolution times ``scale``."""
        return Reach(0, Fraction(self.scale))


@dataclass(frozen=True, kw_only=True, slots=True)
class BatchNorm(LayerSpec):
    """Batch normalisation with per-channel statistics over (N, H, W), Keras conventions.

    ``momentum`` weighs the old running value: ``running = momentum * running + (1 -
    momentum) * batch``; the running variance uses the biased batch variance, as Keras does.

    Parameters
    ----------
    epsilon : float, default 1e-3
        Added to the variance before the square root (``> 0``).
    momentum : float, default 0.99
        Weight of the old running statistics, in [0, 1].
    """

    layer_type: ClassVar[str] = "batchnorm"
    input_data: ClassVar[str] = "channel_spread"
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

    def state_shapes(self, input_shape: NHWC) -> dict[str, tuple[int, ...]]:
        """The running statistics inference normalises with.

        Parameters
        ----------
        input_shape : tuple of int
            NHWC input shape.

        Returns
        -------
        dict of str to tuple of int
            ``moving_mean`` and ``moving_variance``, one value per channel.
        """
        c = input_shape[3]
        return {"moving_mean": (c,), "moving_variance": (c,)}

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """``N H W`` (the per-channel statistics and the parameter gradients sum over batch
        and positions), except ``y`` and ``dx`` in inference: 1 (one formula per element
        with the running statistics)."""
        known = {"y", "dx", *(f"grad/{p}" for p in self.param_shapes(input_shape)),
                 *(f"state/{b}" for b in self.state_shapes(input_shape))}
        if tensor not in known:
            raise _unknown_tensor(self, tensor, f"one of {sorted(known)}")
        if tensor in ("y", "dx") and not training:
            return 1
        n, h, w, _ = input_shape
        return n * h * w

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """Per element, forward: training 8 (mean 1; biased variance 3: subtract, square,
        add; normalise and scale 4: subtract, two products, add), inference 4; backward:
        training 9 (``xhat`` 2, the two sums 3, ``dy - mean(dy) - xhat mean(dy xhat)`` 3, the
        scale ``gamma / s`` 1), inference 1 (``dy gamma / s``)."""
        return _per_element(self, input_shape, direction, *((8, 9) if training else (4, 1)))

    def cancelling(self, tensor: str, *, training: bool = False) -> str | None:
        """``"batch_statistics"`` for ``dx``, ``grad/gamma`` and ``grad/beta`` in training:
        ``dx = (gamma / s)(dy - mean(dy) - xhat mean(dy xhat))`` is a difference of terms
        that can cancel to ~1e-5 of their size (derivation: ``tolerances.term_scale``)."""
        if training and tensor in ("dx", "grad/gamma", "grad/beta"):
            return "batch_statistics"
        return None

    def reach(self) -> Reach:
        """Pixel-wise in inference (running statistics): radius 0."""
        return Reach(0)


@dataclass(frozen=True, kw_only=True, slots=True)
class Activation(LayerSpec):
    """Element-wise activation; ``kind`` names one of the 17 entries of ``ACTIVATIONS``.

    Parameters
    ----------
    kind : str, default "relu"
        A key of ``backends.activations.ACTIVATIONS``.
    """

    layer_type: ClassVar[str] = "activation"
    input_data: ClassVar[str] = "away_from_kinks"
    kind: str = "relu"

    def __post_init__(self) -> None:
        _choice("Activation", "kind", self.kind, tuple(ACTIVATIONS))

    @property
    def kinks(self) -> tuple[float, ...]:
        """The kinks of ``ACTIVATIONS[kind]`` (test inputs stay ``KINK_MARGIN`` away)."""
        return tuple(ACTIVATIONS[self.kind].kinks)

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """One formula per element both ways: 1."""
        return _unsummed(self, tensor)

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """Per element 1 forward (a function evaluation counts as one operation, whatever
        libm spends on it), 2 backward (the derivative and its product with ``dy``)."""
        return _per_element(self, input_shape, direction, 1, 2)

    def reach(self) -> Reach:
        return Reach(0)


@dataclass(frozen=True, kw_only=True, slots=True)
class Connected(LayerSpec):
    """Dense layer on the flattened (H*W*C) input; output shape (N, 1, 1, units).

    Parameters
    ----------
    units : int
        Number of outputs (positive).
    use_bias : bool, default True
        Whether a bias is added.
    """

    layer_type: ClassVar[str] = "connected"
    gemm_like: ClassVar[bool] = True
    has_weights: ClassVar[bool] = True
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

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """``y``: ``H W C`` products; ``dx``: ``units``; ``grad/<param>``: ``N``."""
        n, h, w, c = input_shape
        if tensor == "y":
            return h * w * c
        if tensor == "dx":
            return self.units
        if tensor.startswith("grad/") and tensor[5:] in self.param_shapes(input_shape):
            return n
        raise _unknown_tensor(self, tensor, "y, dx, grad/<param>")

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """``2 N (H W C) units`` forward, twice that backward (``dx`` and ``grad/weights``)."""
        _check_direction("Connected", direction)
        forward = 2 * math.prod(input_shape) * self.units
        return forward * (2 if direction == "backward" else 1)

    def reach(self) -> Reach:
        """Every output reads the whole input: radius ``None``, not tileable."""
        return Reach(None, Fraction(1), same_grid=False)


@dataclass(frozen=True, kw_only=True, slots=True)
class Upsample(LayerSpec):
    """Nearest-neighbour upsampling by an integer ``scale`` along height and width.

    Parameters
    ----------
    scale : int
        The factor (positive).
    """

    layer_type: ClassVar[str] = "upsample"
    moves_data: ClassVar[bool] = True
    scale: int

    def __post_init__(self) -> None:
        _positive_int("Upsample", "scale", self.scale)

    def output_shape(self, input_shape: NHWC) -> NHWC:
        n, h, w, c = check_input_shape("Upsample", input_shape)
        return (n, h * self.scale, w * self.scale, c)

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """``y``: 1 (a copy); ``dx``: ``scale**2`` (the gradient sums the copies)."""
        if tensor == "y":
            return 1
        if tensor == "dx":
            return self.scale**2
        raise _unknown_tensor(self, tensor, "y, dx")

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """Forward 0 (copies); backward ``N H W C (scale**2 - 1)`` additions."""
        _check_direction("Upsample", direction)
        return 0 if direction == "forward" else math.prod(input_shape) * (self.scale**2 - 1)

    def reach(self) -> Reach:
        """Radius 0, resolution times ``scale``."""
        return Reach(0, Fraction(self.scale))


@dataclass(frozen=True, kw_only=True, slots=True)
class Loss(Stated):
    """A loss, averaged over every element: ``mse``, ``mae`` or ``smooth_l1`` (Huber, ``delta``).

    Not a layer (no :class:`LayerSpec`): ``LossFunction`` runs it on a prediction of
    ``input_shape`` and a target; its output is a scalar.

    Parameters
    ----------
    kind : {"mse", "mae", "smooth_l1"}, default "mse"
        The loss.
    delta : float, default 1.0
        Huber's switch point (``smooth_l1``), ``> 0``.
    """

    layer_type: ClassVar[str] = "loss"
    is_loss: ClassVar[bool] = True
    kind: Literal["mse", "mae", "smooth_l1"] = "mse"
    delta: float = 1.0

    def __post_init__(self) -> None:
        _choice("Loss", "kind", self.kind, ("mse", "mae", "smooth_l1"))
        _finite_number("Loss", "delta", self.delta)
        if self.delta <= 0:
            raise SpecError(expected("Loss.delta", "a number > 0", self.delta))

    @property
    def kinks(self) -> tuple[float, ...]:
        """Points of the error ``x - target`` test data stay away from: 0 (``|e|`` of mae,
        Huber's sign; mse shares it, harmless) and Huber's switch at ``-delta``, ``delta``."""
        return (0.0,) if self.kind != "smooth_l1" else (0.0, -self.delta, self.delta)

    def output_shape(self, input_shape: NHWC) -> tuple[()]:
        """A scalar: ``()``.

        Parameters
        ----------
        input_shape : tuple of int
            NHWC shape of the prediction (checked).

        Returns
        -------
        tuple
            ``()``.
        """
        check_input_shape("Loss", input_shape)
        return ()

    def reduction_length(self, input_shape: NHWC, tensor: str, *, training: bool = False) -> int:
        """``y`` (the mean) sums ``N H W C`` terms; ``dx`` is element-wise: 1."""
        if tensor == "y":
            return math.prod(input_shape)
        if tensor == "dx":
            return 1
        raise _unknown_tensor(self, tensor, "y, dx")

    def flops(self, input_shape: NHWC, direction: str = "forward", *,
              training: bool = False) -> int:
        """Per element 3 forward (the difference, the element's loss, its share of the sum),
        2 backward (the difference and the derivative's scaling)."""
        return _per_element(self, input_shape, direction, 3, 2)


ALL_SPECS: tuple[type[LayerSpec], ...] = (
    Conv2D, Conv2DAdd, MaxPool2D, AvgPool2D, Shortcut, PixelShuffle, BatchNorm, Activation,
    Connected,
    Upsample,
)
