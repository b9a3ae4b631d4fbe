"""The peer: EDSR and WDSR written directly in Keras, run the way a Keras user runs them.

The models are built independently of our graphs, as in the published Keras implementations
(krasserm/super-resolution): normalisation inside the model, HWIO kernels, depth_to_space.
They are the tests' second opinion on our graphs (``tests/layerbench/models/test_keras.py``
loads weights written by Keras into our models) and the benchmarks' peer
(:class:`KerasPeer`: a Keras functional model compiled by ``tf.function``, batch 1,
TensorFlow's defaults: oneDNN on unless ``TF_ENABLE_ONEDNN_OPTS=0``, both thread pools set
to the thread count through the ``tensorflow`` backend's one knob).

``weightnorm=True`` replaces the convolutions by :class:`WNConv2D` (variables ``v``, ``g``,
``bias``, ``W = g v / ||v||``). ``border="symmetric"`` pads the normalised input by 2 pixels
(SYMMETRIC) and uses valid head / tail / skip convolutions (krasserm's test-time WDSR).

Importing this module imports TensorFlow and Keras.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

MEAN = np.array([0.4488, 0.4371, 0.4040]) * 255


class WNConv2D(layers.Layer):
    """Weight-normalised convolution: ``W = g v / ||v||`` (norm over H, W, I).

    Parameters
    ----------
    filters : int
        Output channels.
    kernel_size : int
        Kernel side.
    padding : {"same", "valid"}, default "same"
        TensorFlow's padding mode.
    activation : str or callable, optional
        A Keras activation.
    **kw
        Passed to ``keras.layers.Layer`` (``name``, ``dtype``).
    """

    def __init__(self, filters, kernel_size, padding="same", activation=None, **kw):
        super().__init__(**kw)
        self.filters, self.kernel_size, self.padding = filters, kernel_size, padding
        self.activation = keras.activations.get(activation)

    def build(self, shape):
        """Create ``v`` (HWIO, Glorot uniform), ``g`` and ``bias`` (per output channel).

        Parameters
        ----------
        shape : tuple of int
            The NHWC input shape; its last axis is the input channel count.
        """
        k = self.kernel_size
        self.v = self.add_weight(name="v", shape=(k, k, shape[-1], self.filters),
                                 initializer="glorot_uniform")
        self.g = self.add_weight(name="g", shape=(self.filters,),
                                 initializer=keras.initializers.RandomUniform(0.5, 1.5))
        self.bias = self.add_weight(name="bias", shape=(self.filters,),
                                    initializer=keras.initializers.RandomUniform(-0.1, 0.1))

    def call(self, x):
        """``y = act(conv2d(x, g v / ||v||) + bias)``, stride 1.

        Parameters
        ----------
        x : tensorflow.Tensor
            NHWC input.

        Returns
        -------
        tensorflow.Tensor
            NHWC output with ``filters`` channels.
        """
        norm = tf.sqrt(tf.reduce_sum(tf.square(self.v), axis=(0, 1, 2)))
        w = self.g * self.v / norm
        y = tf.nn.conv2d(x, w, 1, self.padding.upper()) + self.bias
        return self.activation(y)


def _conv(weightnorm, dtype):
    def make(filters, k, padding="same", activation=None, name=None):
        if weightnorm:
            return WNConv2D(filters, k, padding, activation, name=name, dtype=dtype)
        return layers.Conv2D(filters, k, padding=padding, activation=activation, name=name,
                             dtype=dtype, bias_initializer=keras.initializers.RandomUniform(
                                 -0.1, 0.1))
    return make


def _shuffle(scale, dtype):
    return layers.Lambda(lambda t: tf.nn.depth_to_space(t, scale), dtype=dtype)


def edsr(scale, n_resblocks, n_feats, res_scale, *, dtype="float32"):
    """EDSR as a Keras functional model (input and output RGB in [0, 255]).

    Mean shift, head convolution, ``n_resblocks`` residual blocks (conv, ReLU, conv, scaled
    by ``res_scale``, plus the skip), body convolution plus the global skip, the upsampler
    (one conv + pixel shuffle per factor: ``[2, 2]`` for x4) and the tail convolution.

    Parameters
    ----------
    scale : int
        Upscaling factor (2, 3 or 4).
    n_resblocks : int
        Number of residual blocks.
    n_feats : int
        Feature channels of the body.
    res_scale : float
        Multiplier of each residual branch.
    dtype : str, default "float32"
        Dtype of every layer.

    Returns
    -------
    keras.Model
        Input ``(None, None, None, 3)``, output ``scale`` times larger.
    """
    conv = _conv(False, dtype)
    x_in = keras.Input((None, None, 3), dtype=dtype)
    x = layers.Lambda(lambda t: t - MEAN, dtype=dtype)(x_in)
    x = b = conv(n_feats, 3)(x)
    for _ in range(n_resblocks):
        r = conv(n_feats, 3, activation="relu")(b)
        r = conv(n_feats, 3)(r)
        b = layers.Add(dtype=dtype)([b, layers.Lambda(lambda t: t * res_scale, dtype=dtype)(r)])
    b = conv(n_feats, 3)(b)
    x = layers.Add(dtype=dtype)([x, b])
    for s in ([2, 2] if scale == 4 else [scale]):
        x = _shuffle(s, dtype)(conv(n_feats * s * s, 3)(x))
    x = conv(3, 3)(x)
    x = layers.Lambda(lambda t: t + MEAN, dtype=dtype)(x)
    return keras.Model(x_in, x)


def wdsr(scale, n_resblocks, n_feats, expansion, *, block="a", weightnorm=False,
         border="same", res_scale=1.0, dtype="float32"):
    """WDSR as a Keras functional model (input and output RGB in [0, 255]).

    Normalisation ``(x - mean) / 127.5``, head convolution, ``n_resblocks`` wide-activation
    blocks, a 3x3 main tail and a 5x5 skip from the input, each followed by a pixel shuffle,
    summed, then de-normalised.

    Parameters
    ----------
    scale : int
        Upscaling factor.
    n_resblocks : int
        Number of residual blocks.
    n_feats : int
        Feature channels of the body.
    expansion : int
        Channel expansion before the ReLU of each block.
    block : {"a", "b"}, default "a"
        WDSR-A (3x3 expansion) or WDSR-B (1x1 expansion, 1x1 to ``0.8 n_feats``).
    weightnorm : bool, default False
        Use :class:`WNConv2D` instead of ``keras.layers.Conv2D``.
    border : {"same", "symmetric"}, default "same"
        ``"symmetric"`` pads the normalised input by 2 pixels (SYMMETRIC) and uses valid
        head, tail and skip convolutions.
    res_scale : float, default 1.0
        Multiplier of each residual branch.
    dtype : str, default "float32"
        Dtype of every layer.

    Returns
    -------
    keras.Model
        Input ``(None, None, None, 3)``, output ``scale`` times larger.
    """
    conv = _conv(weightnorm, dtype)
    edge = "valid" if border == "symmetric" else "same"
    x_in = keras.Input((None, None, 3), dtype=dtype)
    x = layers.Lambda(lambda t: (t - MEAN) / 127.5, dtype=dtype)(x_in)
    if border == "symmetric":
        x = layers.Lambda(lambda t: tf.pad(t, [[0, 0], [2, 2], [2, 2], [0, 0]], "SYMMETRIC"),
                          dtype=dtype)(x)
    m = conv(n_feats, 3, padding=edge)(x)
    for _ in range(n_resblocks):
        if block == "a":
            r = conv(n_feats * expansion, 3, activation="relu")(m)
        else:
            r = conv(n_feats * expansion, 1, activation="relu")(m)
            r = conv(int(n_feats * 0.8), 1)(r)
        r = conv(n_feats, 3)(r)
        if res_scale != 1.0:
            r = layers.Lambda(lambda t: t * res_scale, dtype=dtype)(r)
        m = layers.Add(dtype=dtype)([m, r])
    m = conv(3 * scale**2, 3, padding=edge, name=f"conv2d_main_scale_{scale}")(m)
    m = _shuffle(scale, dtype)(m)
    s = conv(3 * scale**2, 5, padding=edge, name=f"conv2d_skip_scale_{scale}")(x)
    s = _shuffle(scale, dtype)(s)
    x = layers.Add(dtype=dtype)([m, s])
    x = layers.Lambda(lambda t: t * 127.5 + MEAN, dtype=dtype)(x)
    return keras.Model(x_in, x)


def architecture(arch: str, cfg: dict, dtype: str = "float32") -> keras.Model:
    """The Keras twin's architecture (freshly initialised weights) of an SR model.

    Parameters
    ----------
    arch : str
        ``"edsr"``, ``"wdsr_a"`` or ``"wdsr_b"`` (``SRModel.arch``).
    cfg : dict
        ``SRModel.config``: ``scale``, ``n_resblocks``, ``n_feats``, ``res_scale`` and for
        WDSR ``expansion`` (optionally ``border``).
    dtype : str

    Returns
    -------
    keras.Model
    """
    from backends.errors import SpecError, expected

    if arch == "edsr":
        return edsr(cfg["scale"], cfg["n_resblocks"], cfg["n_feats"], cfg["res_scale"],
                    dtype=dtype)
    if arch in ("wdsr_a", "wdsr_b"):
        return wdsr(cfg["scale"], cfg["n_resblocks"], cfg["n_feats"], cfg["expansion"],
                    block=arch[-1], border=cfg.get("border", "same"),
                    res_scale=cfg.get("res_scale", 1.0), dtype=dtype)
    raise SpecError(expected("model.arch", "'edsr', 'wdsr_a' or 'wdsr_b'", arch))


def build_like(model) -> keras.Model:
    """The Keras twin of ``model`` (an EDSR / WDSR :class:`~layerbench.models.SRModel`)
    with ``model``'s weights, in ``model``'s dtype.

    Convolutions are plain ``Conv2D`` layers (weight norm, if the weights came with it, is
    already folded into our kernels). Our convolution nodes, in graph order, map to the
    Keras model's convolution layers in creation order: both builders create them in the
    same order (head, blocks, body / main, upsampler / skip, tail).

    Parameters
    ----------
    model : SRModel
        An EDSR or WDSR model (any backend).

    Returns
    -------
    keras.Model
        The twin, weights copied.

    Raises
    ------
    ShapeError
        The two models' convolutions do not pair up.
    """
    from backends.errors import ShapeError, expected

    kmodel = architecture(model.arch, dict(model.config), np.dtype(model.dtype).name)
    ours = [n.name for n in model.net.nodes.values() if n.layer.spec.has_weights]
    theirs = [layer for layer in kmodel.layers if isinstance(layer, layers.Conv2D)]
    if len(ours) != len(theirs):
        raise ShapeError(expected("convolution layers of the Keras twin", len(ours),
                                  len(theirs)))
    params = model.params()
    for name, layer in zip(ours, theirs, strict=True):
        layer.set_weights([params[f"{name}/weights"], params[f"{name}/bias"]])
    return kmodel


class KerasPeer:
    """A model as a Keras user runs it: the Keras twin of ``model`` (:func:`build_like`)
    called through one ``tf.function`` traced for any image size (batch 1, float32 input,
    ``training=False``), clipping and rounding inside the graph as krasserm's ``resolve``.

    Parameters
    ----------
    model : SRModel
        Architecture and weights to copy (any backend: only its parameters are read).
    """

    def __init__(self, model):
        self.name = f"keras:{model.name}"
        self.scale = model.scale
        self.model = build_like(model)
        dtype = self.model.inputs[0].dtype
        spec = tf.TensorSpec((1, None, None, 3), dtype)

        @tf.function(input_signature=[spec])
        def predict(x):
            return self.model(x, training=False)

        @tf.function(input_signature=[tf.TensorSpec((None, None, 3), tf.uint8)])
        def resolve(image):
            y = predict(tf.cast(image, dtype)[None])[0]
            return tf.cast(tf.round(tf.clip_by_value(y, 0, 255)), tf.uint8)

        self._predict, self._resolve = predict, resolve

    @staticmethod
    def threads(n: int):
        """TensorFlow's intra- and inter-op pools set to ``n`` (the ``tensorflow``
        backend's knob: possible only before TensorFlow's runtime starts)."""
        import backends

        return backends.get_backend("tensorflow").threads(n)

    @staticmethod
    def pool_sizes() -> dict[str, int]:
        """The intra- and inter-op pool sizes TensorFlow reports (its "0 = default" resolved
        to the usable cores). Read after the first op they are the sizes the runtime runs
        with: TensorFlow refuses to change them once it has started."""
        import backends

        info = backends.get_backend("tensorflow").info()
        return {"intra_op": info["intra_op_threads"], "inter_op": info["inter_op_threads"]}

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Float HR output for NHWC ``x`` (batch 1) in [0, 255], unclipped.

        Parameters
        ----------
        x : numpy.ndarray
            ``(1, H, W, 3)`` in [0, 255].

        Returns
        -------
        numpy.ndarray
            ``(1, scale H, scale W, 3)``.
        """
        return self._predict(tf.constant(x, self.model.inputs[0].dtype)).numpy()

    def super_resolve(self, image: np.ndarray) -> np.ndarray:
        """uint8 ``H x W x 3`` -> uint8 ``(scale H) x (scale W) x 3``, clipped and rounded
        half to even, as :meth:`SRModel.super_resolve`.

        Parameters
        ----------
        image : numpy.ndarray
            uint8 H x W x 3.

        Returns
        -------
        numpy.ndarray
            uint8 ``(scale H) x (scale W) x 3``.
        """
        return self._resolve(tf.constant(image, tf.uint8)).numpy()
