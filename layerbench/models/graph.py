"""Graph builders shared by the models: a small helper over :class:`backends.Network`."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from backends import Network, specs
from backends._heap import release_freed_memory
from backends.errors import expected

# DIV2K RGB mean in [0, 1] (EDSR, WDSR): the models subtract it (times 255) from the input.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


# The algorithm of the models' convolutions: "auto" takes the fastest correct one per shape
# (backends.autotune; the numpy and tensorflow backends always run im2col).
ALGO = "auto"


def _algo(algo: str, kernel: int) -> str:
    """``algo`` where it applies; a forced ``"winograd"`` leaves non-3x3 kernels on im2col."""
    return "im2col" if algo == "winograd" and kernel != 3 else algo


def conv(net: Network, name: str, filters: int, kernel: int = 3, *, padding: str = "same",
         inputs=None, algo: str = ALGO) -> str:
    """Add a biased ``kernel x kernel`` stride-1 convolution node.

    Parameters
    ----------
    net : backends.network.Network
        The network to extend.
    name : str
        The new node's name.
    filters : int
        Output channels.
    kernel : int, default 3
        Kernel side.
    padding : {"same", "valid"}, default "same"
        TensorFlow's padding mode.
    inputs : list of str, optional
        The input node (default: the previous node).
    algo : str
        Convolution algorithm (a forced ``"winograd"`` leaves non-3x3 kernels on im2col).

    Returns
    -------
    str
        ``name``.
    """
    return net.add(name, specs.Conv2D(filters=filters, kernel=kernel, padding=padding,
                                      algo=_algo(algo, kernel)), inputs=inputs)


def conv_relu(net: Network, name: str, filters: int, kernel: int = 3, *, fuse: bool = True,
              inputs=None, algo: str = ALGO) -> str:
    """``relu(conv(x))``: one node ``name`` with the ReLU fused into the convolution's output
    pass, or (``fuse=False``) the convolution ``name`` and an Activation node
    ``{name}_relu``.

    Parameters
    ----------
    net, name, filters, kernel, inputs, algo
        As in :func:`conv`.
    fuse : bool, default True
        One fused node, or two.

    Returns
    -------
    str
        The output node.
    """
    if not fuse:
        conv(net, name, filters, kernel, inputs=inputs, algo=algo)
        return relu(net, f"{name}_relu")
    return net.add(name, specs.Conv2D(filters=filters, kernel=kernel, algo=_algo(algo, kernel),
                                      activation="relu"), inputs=inputs)


def conv_add(net: Network, name: str, filters: int, x: str, skip: str, *, kernel: int = 3,
             alpha: float = 1.0, fuse: bool = True, algo: str = ALGO) -> str:
    """``alpha * conv(x) + skip`` (a residual): one Conv2DAdd node ``name``, or
    (``fuse=False``) the convolution ``name`` and a Shortcut node ``{name}_add``.

    Parameters
    ----------
    net, name, filters, kernel, algo
        As in :func:`conv`.
    x : str
        The convolution's input node.
    skip : str
        The node added, shaped like the convolution's output.
    alpha : float, default 1.0
        The residual scaling.
    fuse : bool, default True
        One fused node, or two.

    Returns
    -------
    str
        The output node.
    """
    if not fuse:
        conv(net, name, filters, kernel, inputs=[x], algo=algo)
        return add(net, f"{name}_add", name, skip, alpha=alpha)
    return net.add(name, specs.Conv2DAdd(filters=filters, kernel=kernel,
                                         algo=_algo(algo, kernel), alpha=float(alpha),
                                         beta=1.0), inputs=[x, skip])


def relu(net: Network, name: str) -> str:
    """Add a ReLU, ``y = max(x, 0)`` (derivative 1 where ``x > 0``, else 0).

    Parameters
    ----------
    net : backends.network.Network
        The network to extend.
    name : str
        The new node's name.

    Returns
    -------
    str
        ``name``, for chaining.
    """
    return net.add(name, specs.Activation(kind="relu"))


def add(net: Network, name: str, a: str, b: str, *, alpha: float = 1.0) -> str:
    """``alpha * a + b`` (the residual sum; ``alpha`` is the residual scaling).

    Parameters
    ----------
    net : backends.network.Network
        The network to extend.
    name : str
        The new node's name.
    a, b : str
        The two input nodes, of equal shape.
    alpha : float, default 1.0
        Weight of ``a``.

    Returns
    -------
    str
        ``name``.
    """
    return net.add(name, specs.Shortcut(alpha=float(alpha), beta=1.0), inputs=[a, b])


def shuffle(net: Network, name: str, scale: int, inputs=None) -> str:
    """Add a depth-to-space pixel shuffle (DCR order) by ``scale``.

    Parameters
    ----------
    net : backends.network.Network
        The network to extend.
    name : str
        The new node's name.
    scale : int
        Upscaling factor; the input depth must be divisible by ``scale**2``.
    inputs : str or list of str, optional
        Input node names; the previous node when omitted.

    Returns
    -------
    str
        ``name``, for chaining.
    """
    return net.add(name, specs.PixelShuffle(scale=scale, order="dcr"), inputs=inputs)


def new_network(channels: int, backend, dtype, seed: int) -> Network:
    """An empty network for ``channels``-channel NHWC images.

    Parameters
    ----------
    channels : int
        Input channels.
    backend : str or backends.backend.KernelBackend
        Kernel backend.
    dtype : numpy.dtype or str
        ``float32`` or ``float64``.
    seed : int
        Seed of the parameter initialisation.

    Returns
    -------
    backends.network.Network
        The network, with a nominal 16x16 input size (models run on any tile size).
    """
    # the nominal spatial size only seeds shape checks; models run on any tile size
    return Network((1, 16, 16, channels), backend=backend, dtype=np.dtype(dtype), seed=seed)


def receptive_radius(net) -> int:
    """Half-width, in input pixels, of the region that can influence one output pixel.

    ``sum_nodes radius / s``: every node's reach (:meth:`backends.specs.LayerSpec.reach`:
    ``max(kernel) // 2`` for a convolution or pooling window, 0 pixel-wise) summed over all
    nodes (an upper bound on any path), each measured in input pixels at the resolution
    ``s`` the node runs at (the product of the ``scale`` of the nodes before it: pixel
    shuffles and upsampling raise it, strides lower it), exact in fractions.

    Parameters
    ----------
    net : backends.Network
        The network (or any object with its ``nodes``).

    Returns
    -------
    int
        The radius rounded up.

    Raises
    ------
    ValueError
        A node reads its whole input (a dense layer): the radius is unbounded.
    """
    scale = {"input": Fraction(1)}
    radius = Fraction(0)
    for node in net.nodes.values():
        s = max(scale[i] for i in node.inputs)
        reach = node.layer.spec.reach()
        if reach.radius is None:
            raise ValueError(expected(f"node {node.name!r} of the network",
                                      "a layer with a bounded spatial reach",
                                      type(node.layer.spec).__name__))
        radius += Fraction(reach.radius) / s
        scale[node.name] = s * reach.scale
    return math.ceil(radius)


def init_like_torch(net: Network, seed: int) -> None:
    """Re-initialise every convolution as PyTorch's ``nn.Conv2d`` default does:
    ``W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = kh kw c_in``.

    The Network default (He-uniform, 2.45x wider) makes these unnormalised residual stacks
    start with outputs in the thousands on [0, 255] inputs; EDSR was trained from this one.

    Parameters
    ----------
    net : backends.Network
        A network of convolutions; its parameters are replaced.
    seed : int
        Seed of the draw.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for key, value in net.params().items():
        node = key.partition("/")[0]
        kh, kw, cin, _ = net.params()[f"{node}/weights"].shape
        bound = 1.0 / np.sqrt(kh * kw * cin)
        params[key] = rng.uniform(-bound, bound, value.shape)
    net.load_params(params)
    del params
    release_freed_memory()  # the float64 draws, now copied into the layers (see backends._heap)


def reduction_length(net: Network) -> int:
    """Terms summed into one output element by every reduction of ``net``: ``sum K`` over the
    nodes whose output is a sum (``K = spec.reduction_length(input, "y") > 1``, e.g.
    ``kh kw C`` per convolution; element-wise nodes add nothing).

    Rounding errors of chained sums random-walk, so comparisons of whole models use the
    reduction tier of ``backends/testing/tolerances.py`` with this K.

    Parameters
    ----------
    net : backends.Network
        The network.

    Returns
    -------
    int
        ``K`` of the whole model.
    """
    lengths = (n.layer.spec.reduction_length(n.layer.input_shape, "y")
               for n in net.nodes.values())
    return int(sum(k for k in lengths if k > 1))
