"""Conv2D and Connected layers: the two layers with weight matrices."""

from __future__ import annotations

from .. import winograd as _wg
from ..backend import Kernels
from ..errors import ShapeError, expected
from .base import BaseLayer, Layer, check_array


class _ConvCore:
    """What plain and fused convolutions share: the algorithm (``auto`` resolved per input
    shape by :mod:`backends.autotune`), the Winograd filter transform kept per weights
    version (up to :data:`backends.winograd.CACHE_BYTES`), and the backward of the
    convolution itself."""

    kernel_module = "conv"
    kernel_names = ("conv2d_forward", "conv2d_backward")

    def _conv_setup(self):
        if self.spec.algo in ("winograd", "winograd4"):  # a partial backend says so at build
            self.backend.kernel("conv", f"{self.spec.algo}_forward")
            self.backend.kernel("conv", f"{self.spec.algo}_filter")
        self._version = 0  # bumped whenever the weights may change
        self._u = None  # (version, Winograd-transformed filters)
        self._algos = {}  # x.shape -> concrete algorithm

    def load_params(self, p):
        super().load_params(p)
        self._version += 1

    def update(self, optimizer):
        super().update(optimizer)
        self._version += 1

    def winograd_filters(self, algo: str = "winograd"):
        """``U = G g G^T`` of the current weights for ``algo`` (``winograd``: F(2x2, 3x3),
        ``winograd4``: F(4x4, 3x3)), kept per weights version when it has at most
        :data:`backends.winograd.CACHE_BYTES` bytes, else computed again on each call."""
        if self._u is None or self._u[0] != self._version:
            self._u = (self._version, {})
        cache = self._u[1]
        u = cache.get(algo)
        if u is None:
            u = self.backend.kernel("conv", f"{algo}_filter")(self._params["weights"])
            if u.nbytes <= _wg.CACHE_BYTES:
                cache[algo] = u
        return u

    def algo_for(self, x, skip=None) -> str:
        """The concrete algorithm for ``x``'s shape (``spec.algo`` unless it is ``auto``;
        then :func:`backends.autotune.choose`, timing the candidates on ``x`` itself)."""
        key = (x.shape, self.backend.num_threads())
        algo = self._algos.get(key)
        if algo is None:
            from .. import autotune

            spec = self.spec
            candidates = (autotune.candidates(spec, self.k) if spec.algo == "auto"
                          else (spec.algo,))
            algo = autotune.choose(self.backend.name, spec, x.shape, self.dtype, key[1],
                                   candidates, lambda a: self._run(a, x, skip))
            self._algos[key] = algo
        return algo

    def _run(self, algo, x, skip=None):
        spec = self.spec
        _, _, pads = spec.geometry(x.shape)
        w, b = self._params["weights"], self._params.get("bias")
        epilogue = {"relu": spec.activation == "relu"}
        if skip is not None:
            epilogue.update(residual=skip, alpha=spec.alpha, beta=spec.beta)
        if algo in ("winograd", "winograd4"):
            run = self.backend.kernel("conv", f"{algo}_forward")  # NotSupportedError if absent
            return run(x, w, b, pads=pads, u=self.winograd_filters(algo), **epilogue)
        return self.k.conv2d_forward(x, w, b, stride=spec.stride, pads=pads, **epilogue)

    def _conv_backward(self, dy, x):
        _, _, pads = self.spec.geometry(x.shape)
        dx, dw, db = self.k.conv2d_backward(
            x, self._params["weights"], dy, stride=self.spec.stride, pads=pads
        )
        grads = {"weights": dw}
        if self.spec.use_bias:
            grads["bias"] = db
        return dx, grads


class Conv2DLayer(_ConvCore, Layer):
    """2-D convolution, NHWC input, HWIO kernel ``W``, bias ``b``.

    ``algo`` changes the forward algorithm only; backward always uses im2col.

    Parameters
    ----------
    *args, **kwargs
        ``spec, input_shape, dtype, backend, seed``, as for
        :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward, with ``xpad`` the input zero-padded by ``pads`` and stride ``(sh, sw)``:
    ``y[n,i,j,o] = b[o] + sum_{p,q,c} xpad[n, i*sh+p, j*sw+q, c] W[p,q,c,o]``, then
    ``y = max(y, 0)`` when ``spec.activation == "relu"`` (fused into the output pass).

    Derivatives for the upstream ``dy`` (after the ReLU's ``dy * (y > 0)``):
    ``dL/dW[p,q,c,o] = sum_{n,i,j} xpad[n, i*sh+p, j*sw+q, c] dy[n,i,j,o]``,
    ``dL/db[o] = sum_{n,i,j} dy[n,i,j,o]``, and ``dL/dx`` is the transposed convolution of
    ``dy`` with ``W`` (``dL/dxpad[n, i*sh+p, j*sw+q, c] += dy[n,i,j,o] W[p,q,c,o]``),
    cropped back from the padded input.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._conv_setup()
        relu = ("activation_backward",) if self.spec.activation == "relu" else ()
        self._activation = Kernels(self.backend, "activation", relu)

    def _forward(self, x, training):
        y = self._run(self.algo_for(x), x)
        return y, (x, y if self.spec.activation == "relu" else None)

    def _backward(self, dy, x_shape, cache):
        x, y = cache
        if y is not None:  # relu'(pre) = (pre > 0) = (y > 0): the output decides
            dy = self._activation.activation_backward(y, dy, kind="relu")
        return self._conv_backward(dy, x)


class Conv2DAddLayer(_ConvCore, BaseLayer):
    """Convolution with the residual sum fused: ``y = alpha (conv(x) + b) + beta skip``.

    Inputs ``forward(a, b)``: ``a`` the convolution's input, ``b`` the skip, shaped like the
    output.

    Parameters
    ----------
    *args, **kwargs
        ``spec, input_shape, dtype, backend, seed``, as for
        :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward: ``y = alpha (conv(a; W) + bias) + beta b``, with ``conv`` the convolution of
    :class:`Conv2DLayer` (no activation).

    Derivatives: ``dL/db = beta dy``; ``dL/da``, ``dL/dW`` and ``dL/dbias`` are those of
    :class:`Conv2DLayer` for the upstream gradient ``alpha dy``.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._conv_setup()
        self._shortcut = Kernels(self.backend, "shortcut", ("shortcut_backward",))

    def forward(self, a, b, *, training: bool = False):
        """``y = alpha (conv(a) + bias) + beta b`` (the merge-layer protocol: inputs a, b).

        Parameters
        ----------
        a : numpy.ndarray
            The convolution's NHWC input.
        b : numpy.ndarray
            The skip, shaped like the output.
        training : bool, default False
            Accepted for the protocol; ``a`` is kept for ``backward`` either way.

        Returns
        -------
        numpy.ndarray
            ``y``.

        Raises
        ------
        ShapeError, DTypeError, LayoutError
            An input has the wrong shape, dtype or memory layout.
        """
        self._check_x(a, "a")
        y_shape = self.spec.output_shape(a.shape)
        check_array(self._name, "b", b, self.dtype, shape=y_shape)
        y = self._run(self.algo_for(a, b), a, b)
        self._cache = (a, y_shape)
        return y

    def backward(self, dy):
        """Return ``(da, db)`` for the upstream ``dy``; keep the weight gradients.

        Parameters
        ----------
        dy : numpy.ndarray
            Upstream gradient, shaped like the output of the last ``forward``.

        Returns
        -------
        da : numpy.ndarray
            Gradient of the convolution's input: the transposed convolution of
            ``alpha dy``.
        db : numpy.ndarray
            Gradient of the skip, ``beta dy``.

        Raises
        ------
        StateError
            No ``forward`` preceded it.
        ShapeError, DTypeError, LayoutError
            ``dy`` does not match the last output.
        """
        x, y_shape = self._take_cache()
        self._check_dy(dy, y_shape)
        d_conv, d_skip = self._shortcut.shortcut_backward(
            dy, alpha=self.spec.alpha, beta=self.spec.beta)
        dx, self._grads = self._conv_backward(d_conv, x)
        return dx, d_skip


class ConnectedLayer(Layer):
    """Dense layer on the row-major flattened input ``x2 = x.reshape(N, H*W*C)``.

    Parameters
    ----------
    spec, input_shape, dtype, backend, seed
        As for :class:`~backends.layers.base.BaseLayer`.

    Notes
    -----
    Forward: ``y2 = x2 @ W + b``, returned as ``y`` shaped (N, 1, 1, units).

    Derivatives, with ``dy2 = dy.reshape(N, units)``: ``dL/dx2 = dy2 @ W.T`` (reshaped back
    to ``x.shape``), ``dL/dW = x2.T @ dy2``, ``dL/db = sum_n dy2[n]``.
    """

    kernel_module = "dense"
    kernel_names = ("dense_forward", "dense_backward")

    def _check_x(self, x, name="x"):
        super()._check_x(x, name)
        if x.shape[1:] != self.input_shape[1:]:
            raise ShapeError(
                expected(f"{self._name}.{name}.shape[1:]", str(self.input_shape[1:]), x.shape[1:])
            )
        return x

    def _forward(self, x, training):
        x2 = x.reshape(x.shape[0], -1)
        y2 = self.k.dense_forward(x2, self._params["weights"], self._params.get("bias"))
        return y2.reshape(x.shape[0], 1, 1, -1), x2

    def _backward(self, dy, x_shape, x2):
        dx2, dw, db = self.k.dense_backward(
            x2, self._params["weights"], dy.reshape(dy.shape[0], -1)
        )
        grads = {"weights": dw}
        if self.spec.use_bias:
            grads["bias"] = db
        return dx2.reshape(x_shape), grads
