"""Graph builders shared by the models: a small helper over :class:`backends.Network`."""

from __future__ import annotations

import numpy as np

from backends import Network, specs

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
    """Add a biased ``kernel x kernel`` stride-1 convolution node."""
    return net.add(name, specs.Conv2D(filters=filters, kernel=kernel, padding=padding,
                                      algo=_algo(algo, kernel)), inputs=inputs)


def conv_relu(net: Network, name: str, filters: int, kernel: int = 3, *, fuse: bool = True,
              inputs=None, algo: str = ALGO) -> str:
    """``relu(conv(x))``: one node ``name`` with the ReLU fused into the convolution's output
    pass, or (``fuse=False``) the convolution ``name`` and an Activation node
    ``{name}_relu``. Returns the output node."""
    if not fuse:
        conv(net, name, filters, kernel, inputs=inputs, algo=algo)
        return relu(net, f"{name}_relu")
    return net.add(name, specs.Conv2D(filters=filters, kernel=kernel, algo=_algo(algo, kernel),
                                      activation="relu"), inputs=inputs)


def conv_add(net: Network, name: str, filters: int, x: str, skip: str, *, kernel: int = 3,
             alpha: float = 1.0, fuse: bool = True, algo: str = ALGO) -> str:
    """``alpha * conv(x) + skip`` (a residual): one Conv2DAdd node ``name``, or
    (``fuse=False``) the convolution ``name`` and a Shortcut node ``{name}_add``. Returns
    the output node."""
    if not fuse:
        conv(net, name, filters, kernel, inputs=[x], algo=algo)
        return add(net, f"{name}_add", name, skip, alpha=alpha)
    return net.add(name, specs.Conv2DAdd(filters=filters, kernel=kernel,
                                         algo=_algo(algo, kernel), alpha=float(alpha),
                                         beta=1.0), inputs=[x, skip])


def relu(net: Network, name: str) -> str:
    return net.add(name, specs.Activation(kind="relu"))


def add(net: Network, name: str, a: str, b: str, *, alpha: float = 1.0) -> str:
    """``alpha * a + b`` (the residual sum; ``alpha`` is the residual scaling)."""
    return net.add(name, specs.Shortcut(alpha=float(alpha), beta=1.0), inputs=[a, b])


def shuffle(net: Network, name: str, scale: int, inputs=None) -> str:
    return net.add(name, specs.PixelShuffle(scale=scale, order="dcr"), inputs=inputs)


def new_network(channels: int, backend, dtype, seed: int) -> Network:
    # the nominal spatial size only seeds shape checks; models run on any tile size
    return Network((1, 16, 16, channels), backend=backend, dtype=np.dtype(dtype), seed=seed)


def receptive_radius(net: Network) -> int:
    """Half-width, in input pixels, of the region that can influence one output pixel.

    Summed over every convolution (an upper bound on any path), each measured in input
    pixels at the resolution the convolution runs at (pixel shuffles raise the resolution).
    """
    scale = {"input": 1}
    radius = 0.0
    for node in net.nodes.values():
        s = max(scale[i] for i in node.inputs)
        spec = node.layer.spec
        if isinstance(spec, specs.Conv2D):
            radius += max(spec.kernel) // 2 / s
        if isinstance(spec, specs.PixelShuffle | specs.Upsample):
            s *= spec.scale
        scale[node.name] = s
    return int(np.ceil(radius))


def init_like_torch(net: Network, seed: int) -> None:
    """Re-initialise every convolution as PyTorch's ``nn.Conv2d`` default does:
    ``W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` with ``fan_in = kh kw c_in``.

    The Network default (He-uniform, 2.45x wider) makes these unnormalised residual stacks
    start with outputs in the thousands on [0, 255] inputs; EDSR was trained from this one.
    """
    rng = np.random.default_rng(seed)
    params = {}
    for key, value in net.params().items():
        node = key.partition("/")[0]
        kh, kw, cin, _ = net.params()[f"{node}/weights"].shape
        bound = 1.0 / np.sqrt(kh * kw * cin)
        params[key] = rng.uniform(-bound, bound, value.shape)
    net.load_params(params)


def reduction_length(net: Network) -> int:
    """Products summed by every convolution of ``net`` (per output element, all layers).

    Rounding errors of chained sums random-walk, so comparisons of whole models use the
    reduction tier of ``backends/testing/tolerances.py`` with this K.
    """
    return int(sum(
        n.layer.spec.kernel[0] * n.layer.spec.kernel[1] * n.layer.input_shape[3]
        for n in net.nodes.values() if isinstance(n.layer.spec, specs.Conv2D)
    ))
