"""The layer peer: each layer as ``tf.nn`` / ``tf.raw_ops`` ops in graph mode, as TensorFlow
runs a layer inside a compiled model.

The ``tensorflow`` backend calls the same ops eagerly, one op at a time with NumPy in and
out: it is the tests' oracle, not what a TensorFlow user times. :class:`GraphPeer` builds,
per layer spec, input shape and dtype, a forward and a backward ``tf.function`` with a fixed
input signature, traced once in the constructor (never again: the signature is fixed), run
with TensorFlow's defaults (oneDNN on unless ``TF_ENABLE_ONEDNN_OPTS=0``, grappler's
fusions), both thread pools sized by the ``tensorflow`` backend's knob
(``backends.get_backend("tensorflow").threads(n)``, before the first op).

What is timed, per layer: forward takes the inputs as tensors (:meth:`GraphPeer.tensor`
converts once, outside the timing, as a layer inside a graph receives its input) and keeps
what TensorFlow's registered gradient needs; backward runs the ops of that gradient on the
kept tensors and ``dy``, without recomputing the forward (what a training step runs):

- conv: ``Conv2D`` + ``BiasAdd`` (+ ``Relu``); ``Conv2DBackpropInput``,
  ``Conv2DBackpropFilter``, ``BiasAddGrad`` (``ReluGrad`` first). Every ``algo`` runs the
  same op (TensorFlow has no Winograd entry point);
- conv + residual (``Conv2DAdd``): the conv, then ``alpha y + beta skip``;
- max-pool: ``MaxPoolWithArgmax`` (our layers also return the arg-max in forward);
  ``MaxPoolGradWithArgmax``, the gradient TensorFlow registers for it;
- average pool: ``AvgPool``; ``AvgPoolGrad``;
- pixel shuffle ``dcr``: ``DepthToSpace``; ``SpaceToDepth`` (``crd``: reshape/transpose);
- batch norm: ``FusedBatchNormV3``; ``FusedBatchNormGradV3`` (Keras' training path);
- activations relu, logistic, tanh: the op; ``ReluGrad`` / ``SigmoidGrad`` / ``TanhGrad``;
- dense: ``MatMul`` + ``BiasAdd``; two ``MatMul`` and a column sum;
- shortcut, nearest upsampling, losses (mse, mae, smooth L1): the formulas in TF ops.

Outputs stay tensors (a graph passes them on; the ``.numpy()`` view costs nothing on the
CPU). Other specs raise :class:`~backends.errors.NotSupportedError` naming what is covered.
``tests/bench/test_graph_peer.py`` checks every output and gradient against the oracle
within the central tolerance table.

Importing this module imports nothing heavy; building a peer imports TensorFlow.
"""

from __future__ import annotations

import numpy as np

NAME = "tf_graph"
ACTIVATIONS = ("relu", "logistic", "tanh")


def _unsupported(what: str, received) -> Exception:
    from backends.errors import NotSupportedError, expected

    return NotSupportedError(expected(f"graph peer {what}", _COVERED, received))


_COVERED = ("Conv2D, Conv2DAdd, MaxPool2D and AvgPool2D with 'valid' or TensorFlow-'same' "
            "pads, PixelShuffle, BatchNorm, Activation (relu, logistic, tanh), Connected, "
            "Shortcut, Upsample, Loss")


class GraphPeer:
    """A layer (or loss) as graph-mode TensorFlow ops; the layer protocol's calls.

    Parameters
    ----------
    spec : LayerSpec or Loss
    input_shape : tuple of int
        NHWC shape of the (first) input; for a loss, of the prediction.
    dtype : float32 or float64
    params : dict, optional
        Trainable parameters by the layer's names (``weights``, ``bias``, ``gamma``, ``beta``)
        and batch-norm ``moving_mean`` / ``moving_variance``; default: seeded uniform values
        (time does not depend on them).

    Methods mirror :class:`backends.layers.base.Layer`: ``forward(x[, x2], training=...)``,
    ``backward(dy)`` (a loss: ``forward(y, target)``, ``backward()``) and ``grads()``; they
    take tensors or arrays and return tensors.
    """

    name = NAME

    def __init__(self, spec, input_shape, dtype=np.float32, params=None):
        import tensorflow as tf

        self.spec, self.input_shape = spec, tuple(int(s) for s in input_shape)
        self.dtype = np.dtype(dtype)
        self._tf = tf
        self._saved = None
        self._grads: dict = {}
        kind = type(spec).__name__
        build = getattr(self, f"_build_{kind.lower()}", None)
        if build is None:
            raise _unsupported("spec", kind)
        self.params = {k: tf.constant(np.asarray(v, self.dtype))
                       for k, v in (params or self._default_params()).items()}
        build()

    # -- helpers ---------------------------------------------------------------------------
    def tensor(self, a):
        """``a`` as a tensor of the peer's dtype (done once, outside the timed calls)."""
        return self._tf.constant(np.asarray(a, self.dtype))

    def _sig(self, shape, dtype=None):
        return self._tf.TensorSpec(shape, dtype or self._tf.as_dtype(self.dtype))

    def _default_params(self) -> dict:
        shapes = getattr(self.spec, "param_shapes", None)
        if shapes is None:
            return {}
        rng = np.random.default_rng(0)
        out = {k: rng.uniform(-0.1, 0.1, s) for k, s in shapes(self.input_shape).items()}
        if type(self.spec).__name__ == "BatchNorm":
            c = self.input_shape[3]
            out.update(gamma=np.ones(c), moving_mean=np.zeros(c), moving_variance=np.ones(c))
        return out

    def _trace(self, fn, *specs):
        """``fn`` as a ``tf.function`` with the fixed signature ``specs``, traced now."""
        f = self._tf.function(fn, input_signature=list(specs))
        f.get_concrete_function()
        return f

    def _pad_mode(self, window, stride, explicit_ok):
        from backends.tf_oracle._common import padding_mode

        _, _, pads = self.spec.geometry(self.input_shape)
        mode = padding_mode(self.input_shape, window, stride, pads)
        if mode is not None:
            return mode, []
        if not explicit_ok:
            raise _unsupported("pads", f"{pads} for input {self.input_shape}")
        top, bottom, left, right = (int(p) for p in pads)
        return "EXPLICIT", [0, 0, top, bottom, left, right, 0, 0]

    # -- the protocol ----------------------------------------------------------------------
    def forward(self, x, x2=None, *, training=False):
        if self._loss:
            value, self._saved = self._fwd(x, x2)
            return value
        args = (x,) if x2 is None else (x, x2)
        out = self._fwd_for(training)(*args)
        y, self._saved = out[0], (*args, *out)
        return y

    def backward(self, dy=None):
        if self._saved is None:
            from backends.errors import StateError

            raise StateError(f"{self.name}.backward(): call forward() first")
        if self._loss:
            return self._bwd(*self._saved)
        out = self._bwd(*self._saved, dy)
        grads = out[self._n_dx:]
        self._grads = dict(zip(self._grad_names, grads, strict=True))
        return out[0] if self._n_dx == 1 else tuple(out[:self._n_dx])

    def grads(self) -> dict:
        return dict(self._grads)

    _loss, _n_dx, _grad_names, _fwds = False, 1, (), None

    def _fwd_for(self, training):
        if self._fwds is None:
            return self._fwd
        # batch norm: the statistics (batch or running) follow ``training``, both ways
        self._bwd = self._bwds[bool(training)]
        return self._fwds[bool(training)]

    # -- families --------------------------------------------------------------------------
    def _conv_ops(self):
        tf, s = self._tf, self.spec
        mode, explicit = self._pad_mode(s.kernel, s.stride, explicit_ok=True)
        strides = [1, s.stride[0], s.stride[1], 1]
        w_shape = tuple(int(d) for d in self.params["weights"].shape)
        x_shape, relu, use_bias = self.input_shape, s.activation == "relu", s.use_bias

        def conv(x, w, b):
            y = tf.raw_ops.Conv2D(input=x, filter=w, strides=strides, padding=mode,
                                  explicit_paddings=explicit)
            if use_bias:
                y = tf.nn.bias_add(y, b)
            return tf.nn.relu(y) if relu else y

        def conv_grads(x, w, y, dy):
            if relu:
                dy = tf.raw_ops.ReluGrad(gradients=dy, features=y)
            dx = tf.raw_ops.Conv2DBackpropInput(
                input_sizes=tf.constant(x_shape, tf.int32), filter=w, out_backprop=dy,
                strides=strides, padding=mode, explicit_paddings=explicit)
            dw = tf.raw_ops.Conv2DBackpropFilter(
                input=x, filter_sizes=tf.constant(w_shape, tf.int32), out_backprop=dy,
                strides=strides, padding=mode, explicit_paddings=explicit)
            db = tf.raw_ops.BiasAddGrad(out_backprop=dy)
            return dx, dw, db

        self._grad_names = ("weights", "bias") if use_bias else ("weights",)
        return conv, conv_grads

    def _build_conv2d(self):
        conv, conv_grads = self._conv_ops()
        params, y_shape = self.params, self.spec.output_shape(self.input_shape)
        b = params.get("bias", self._tf.zeros((self.spec.filters,), self.dtype))
        w = params["weights"]
        self._fwd = self._trace(lambda x: (conv(x, w, b),), self._sig(self.input_shape))
        names = self._grad_names

        def grads(x, y, dy):
            dx, dw, db = conv_grads(x, w, y, dy)
            return (dx, dw, db)[:1 + len(names)]

        self._bwd = self._trace(grads, self._sig(self.input_shape), self._sig(y_shape),
                                self._sig(y_shape))

    def _build_conv2dadd(self):
        tf = self._tf
        conv, conv_grads = self._conv_ops()
        s, params = self.spec, self.params
        y_shape = s.output_shape(self.input_shape)
        b = params.get("bias", tf.zeros((s.filters,), self.dtype))
        w = params["weights"]
        alpha, beta = (tf.constant(v, self.dtype) for v in (s.alpha, s.beta))
        self._fwd = self._trace(lambda x, skip: (alpha * conv(x, w, b) + beta * skip,),
                                self._sig(self.input_shape), self._sig(y_shape))
        names, self._n_dx = self._grad_names, 2

        def grads(x, skip, y, dy):
            dx, dw, db = conv_grads(x, w, y, alpha * dy)
            return (dx, beta * dy, dw, db)[:2 + len(names)]

        self._bwd = self._trace(grads, self._sig(self.input_shape), self._sig(y_shape),
                                self._sig(y_shape), self._sig(y_shape))

    def _pool_args(self):
        s = self.spec
        mode, _ = self._pad_mode(s.size, s.stride, explicit_ok=False)
        return [1, *s.size, 1], [1, *s.stride, 1], mode

    def _build_maxpool2d(self):
        tf = self._tf
        ksize, strides, mode = self._pool_args()
        y_shape = self.spec.output_shape(self.input_shape)

        def fwd(x):
            return tf.nn.max_pool_with_argmax(x, ksize, strides, mode,
                                              include_batch_in_index=True)

        def bwd(x, y, argmax, dy):
            return (tf.raw_ops.MaxPoolGradWithArgmax(
                input=x, grad=dy, argmax=argmax, ksize=ksize, strides=strides, padding=mode,
                include_batch_in_index=True),)

        self._fwd = self._trace(fwd, self._sig(self.input_shape))
        self._bwd = self._trace(bwd, self._sig(self.input_shape), self._sig(y_shape),
                                self._sig(y_shape, tf.int64), self._sig(y_shape))

    def _build_avgpool2d(self):
        tf = self._tf
        ksize, strides, mode = self._pool_args()
        x_shape, y_shape = self.input_shape, self.spec.output_shape(self.input_shape)
        self._fwd = self._trace(lambda x: (tf.nn.avg_pool2d(x, ksize, strides, mode),),
                                self._sig(x_shape))

        def bwd(x, y, dy):
            return (tf.raw_ops.AvgPoolGrad(orig_input_shape=tf.constant(x_shape, tf.int32),
                                           grad=dy, ksize=ksize, strides=strides,
                                           padding=mode),)

        self._bwd = self._trace(bwd, self._sig(x_shape), self._sig(y_shape), self._sig(y_shape))

    def _build_shortcut(self):
        tf, s, shape = self._tf, self.spec, self.input_shape
        alpha, beta = (tf.constant(v, self.dtype) for v in (s.alpha, s.beta))
        self._fwd = self._trace(lambda a, b: (alpha * a + beta * b,), self._sig(shape),
                                self._sig(shape))
        self._n_dx = 2
        self._bwd = self._trace(lambda a, b, y, dy: (alpha * dy, beta * dy),
                                *(self._sig(shape),) * 4)

    def _build_pixelshuffle(self):
        tf, r = self._tf, int(self.spec.scale)
        n, h, w, cr = self.input_shape
        c = cr // (r * r)
        y_shape = (n, h * r, w * r, c)
        if self.spec.order == "dcr":
            def fwd(x):
                return (tf.nn.depth_to_space(x, r),)

            def bwd(x, y, dy):
                return (tf.nn.space_to_depth(dy, r),)
        else:  # crd: channel c r^2 + i r + j (torch.nn.PixelShuffle); no TF op
            def fwd(x):
                t = tf.transpose(tf.reshape(x, (n, h, w, c, r, r)), (0, 1, 4, 2, 5, 3))
                return (tf.reshape(t, y_shape),)

            def bwd(x, y, dy):
                t = tf.transpose(tf.reshape(dy, (n, h, r, w, r, c)), (0, 1, 3, 5, 2, 4))
                return (tf.reshape(t, self.input_shape),)

        self._fwd = self._trace(fwd, self._sig(self.input_shape))
        self._bwd = self._trace(bwd, self._sig(self.input_shape), self._sig(y_shape),
                                self._sig(y_shape))

    def _build_batchnorm(self):
        tf, eps, shape = self._tf, float(self.spec.epsilon), self.input_shape
        p = self.params
        empty = tf.zeros((0,), self.dtype)
        self._grad_names = ("gamma", "beta")

        def fwd(training):
            def run(x):
                out = tf.raw_ops.FusedBatchNormV3(
                    x=x, scale=p["gamma"], offset=p["beta"],
                    mean=empty if training else p["moving_mean"],
                    variance=empty if training else p["moving_variance"], epsilon=eps,
                    exponential_avg_factor=1.0, data_format="NHWC", is_training=training)
                if training:
                    return out.y, out.reserve_space_1, out.reserve_space_2, out.reserve_space_3
                # TensorFlow's gradient of the inference op takes the running statistics
                return out.y, p["moving_mean"], p["moving_variance"], out.reserve_space_3
            return self._trace(run, self._sig(shape))

        def bwd(training):
            def run(x, y, r1, r2, r3, dy):
                out = tf.raw_ops.FusedBatchNormGradV3(
                    y_backprop=dy, x=x, scale=p["gamma"], reserve_space_1=r1,
                    reserve_space_2=r2, reserve_space_3=r3, epsilon=eps, data_format="NHWC",
                    is_training=training)
                return out.x_backprop, out.scale_backprop, out.offset_backprop
            return run

        self._fwds = {t: fwd(t) for t in (True, False)}
        # the reserve spaces' shapes are the op's business: trace on the first call's
        run_t, run_f = bwd(True), bwd(False)
        sig = [self._sig(shape), self._sig(shape), self._sig(None), self._sig(None),
               self._sig(None), self._sig(shape)]
        self._bwds = {True: self._tf.function(run_t, input_signature=sig),
                      False: self._tf.function(run_f, input_signature=sig)}
        x0 = tf.zeros(shape, self.dtype)
        for t in (True, False):  # trace both now, on zeros
            out = self._fwds[t](x0)
            self._bwds[t](x0, *out, x0)

    def _build_activation(self):
        tf, kind, shape = self._tf, self.spec.kind, self.input_shape
        if kind not in ACTIVATIONS:
            raise _unsupported("activation kind", kind)
        op, grad = {
            "relu": (tf.nn.relu, lambda y, dy: tf.raw_ops.ReluGrad(gradients=dy, features=y)),
            "logistic": (tf.math.sigmoid, lambda y, dy: tf.raw_ops.SigmoidGrad(y=y, dy=dy)),
            "tanh": (tf.math.tanh, lambda y, dy: tf.raw_ops.TanhGrad(y=y, dy=dy)),
        }[kind]
        self._fwd = self._trace(lambda x: (op(x),), self._sig(shape))
        self._bwd = self._trace(lambda x, y, dy: (grad(y, dy),), *(self._sig(shape),) * 3)

    def _build_connected(self):
        tf, shape, p = self._tf, self.input_shape, self.params
        n, units = shape[0], self.spec.units
        use_bias = self.spec.use_bias
        y_shape = (n, 1, 1, units)
        w = p["weights"]
        self._grad_names = ("weights", "bias") if use_bias else ("weights",)

        def fwd(x):
            y = tf.linalg.matmul(tf.reshape(x, (n, -1)), w)
            if use_bias:
                y = tf.nn.bias_add(y, p["bias"])
            return (tf.reshape(y, y_shape),)

        def bwd(x, y, dy):
            x2, dy2 = tf.reshape(x, (n, -1)), tf.reshape(dy, (n, units))
            dx = tf.reshape(tf.linalg.matmul(dy2, w, transpose_b=True), shape)
            dw = tf.linalg.matmul(x2, dy2, transpose_a=True)
            return (dx, dw, tf.reduce_sum(dy2, axis=0))[:1 + len(self._grad_names)]

        self._fwd = self._trace(fwd, self._sig(shape))
        self._bwd = self._trace(bwd, self._sig(shape), self._sig(y_shape), self._sig(y_shape))

    def _build_upsample(self):
        tf, r = self._tf, int(self.spec.scale)
        n, h, w, c = self.input_shape
        y_shape = (n, h * r, w * r, c)

        def fwd(x):
            t = tf.broadcast_to(tf.reshape(x, (n, h, 1, w, 1, c)), (n, h, r, w, r, c))
            return (tf.reshape(t, y_shape),)

        def bwd(x, y, dy):
            return (tf.reduce_sum(tf.reshape(dy, (n, h, r, w, r, c)), axis=(2, 4)),)

        self._fwd = self._trace(fwd, self._sig(self.input_shape))
        self._bwd = self._trace(bwd, self._sig(self.input_shape), self._sig(y_shape),
                                self._sig(y_shape))

    def _build_loss(self):
        tf, s, shape = self._tf, self.spec, self.input_shape
        size = float(np.prod(shape))
        delta = tf.constant(float(s.delta), self.dtype)
        inv = tf.constant(1.0 / size, self.dtype)
        self._loss = True

        def value(e):
            if s.kind == "mse":
                return tf.reduce_mean(tf.square(e))
            if s.kind == "mae":
                return tf.reduce_mean(tf.abs(e))
            a = tf.abs(e)  # Huber(delta)
            return tf.reduce_mean(tf.where(a <= delta, 0.5 * e * e, delta * (a - 0.5 * delta)))

        def grad(e):
            if s.kind == "mse":
                return 2.0 * inv * e
            if s.kind == "mae":
                return inv * tf.sign(e)
            return inv * tf.clip_by_value(e, -delta, delta)

        def fwd(y, t):
            e = y - t
            return value(e), (e,)

        self._fwd = self._trace(fwd, self._sig(shape), self._sig(shape))
        self._bwd = self._trace(grad, self._sig(shape))

