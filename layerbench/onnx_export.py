"""ONNX export of a :class:`~backends.network.Network` or an SR model, with its weights.

The graph is written with the ``onnx`` package's helper API at opset :data:`OPSET`. Our
networks are NHWC; ONNX convolutions are NCHW, so the exported graph takes and returns NHWC
(one ``Transpose`` at each end) and runs NCHW inside. An :class:`~layerbench.models.SRModel`
exports with its normalisation: the graph maps an LR image in [0, 255] (float) to the HR
image in [0, 255] (float, unclipped), as :meth:`SRModel.predict` does.

Layers covered: ``Conv2D`` (any kernel, stride, ``same``/``valid``, fused ReLU),
``Conv2DAdd``, ``Shortcut``, ``PixelShuffle`` (``DepthToSpace`` DCR/CRD), ``Activation``
(``linear``, ``logistic``, ``relu``, ``tanh``, ``elu``, ``leaky``, ``selu``, ``softplus``,
``softsign``), ``MaxPool2D``/``AvgPool2D``. Any other layer is refused
with an error naming it.
"""

from __future__ import annotations

import os

import numpy as np

from backends.errors import SpecError, expected

#: The ONNX operator set the exported graphs declare.
OPSET = 17

def _activations() -> dict[str, tuple[str, dict]]:
    """Our activation kinds with an ONNX operator of the same formula: kind -> (op, attrs)."""
    from backends.activations import LEAKY_SLOPE, SELU_ALPHA, SELU_SCALE

    return {"linear": ("Identity", {}), "logistic": ("Sigmoid", {}), "relu": ("Relu", {}),
            "tanh": ("Tanh", {}), "elu": ("Elu", {"alpha": 1.0}),
            "leaky": ("LeakyRelu", {"alpha": LEAKY_SLOPE}),
            "selu": ("Selu", {"alpha": SELU_ALPHA, "gamma": SELU_SCALE}),
            "softplus": ("Softplus", {}), "softsign": ("Softsign", {})}


class _Builder:
    """Collects nodes and initializers of one graph."""

    def __init__(self, dtype):
        from onnx import helper

        self.helper = helper
        self.nodes: list = []
        self.inits: list = []
        self.dtype = np.dtype(dtype)

    def const(self, name: str, value) -> str:
        from onnx import numpy_helper

        self.inits.append(numpy_helper.from_array(np.asarray(value, self.dtype), name))
        return name

    def node(self, op: str, inputs, output: str, *, final: bool = False, **attrs) -> str:
        # intermediate values live under "t/" so that a layer named like the graph's
        # input or output cannot clash with them
        output = "output" if final else f"t/{output}"
        self.nodes.append(self.helper.make_node(op, list(inputs), [output], name=output, **attrs))
        return output


def _pads(spec) -> dict:
    if spec.padding == "same":
        return {"auto_pad": "SAME_UPPER"}
    return {"pads": [0, 0, 0, 0]}


def _layer(b: _Builder, name: str, spec, params: dict, inputs: list[str]) -> str:
    """Append the ONNX nodes of one layer; returns the name of its output (NCHW)."""
    kind = type(spec).__name__
    if kind in ("Conv2D", "Conv2DAdd"):
        w = np.transpose(params[f"{name}/weights"], (3, 2, 0, 1))  # HWIO -> OIHW
        args = [inputs[0], b.const(f"{name}/weights", w)]
        if spec.use_bias:
            args.append(b.const(f"{name}/bias", params[f"{name}/bias"]))
        (kh, kw), (sh, sw), _ = spec._window()
        y = b.node("Conv", args, f"{name}/conv", kernel_shape=[kh, kw], strides=[sh, sw],
                   **_pads(spec))
        if kind == "Conv2D":
            return b.node("Relu", [y], name) if spec.activation == "relu" else y
        return _weighted_sum(b, name, y, inputs[1], spec.alpha, spec.beta)
    if kind == "Shortcut":
        return _weighted_sum(b, name, inputs[0], inputs[1], spec.alpha, spec.beta)
    if kind == "PixelShuffle":
        return b.node("DepthToSpace", inputs, name, blocksize=spec.scale,
                      mode=spec.order.upper())
    if kind == "Activation" and spec.kind in _activations():
        op, attrs = _activations()[spec.kind]
        return b.node(op, inputs, name, **attrs)
    if kind in ("MaxPool2D", "AvgPool2D"):
        op = "MaxPool" if kind == "MaxPool2D" else "AveragePool"
        (kh, kw), (sh, sw), _ = spec._window()
        return b.node(op, inputs, name, kernel_shape=[kh, kw], strides=[sh, sw], **_pads(spec))
    raise SpecError(expected(f"layer {name!r} ({kind}"
                             + (f", kind={spec.kind!r}" if kind == "Activation" else "") + ")",
                             "a layer with an ONNX export (Conv2D, Conv2DAdd, Shortcut, "
                             f"PixelShuffle, Activation {'/'.join(_activations())}, MaxPool2D, "
                             "AvgPool2D)",
                             kind))


def _weighted_sum(b: _Builder, name: str, x1: str, x2: str, alpha: float, beta: float) -> str:
    """``alpha x1 + beta x2`` with the products left out where a weight is 1."""
    if alpha != 1.0:
        x1 = b.node("Mul", [x1, b.const(f"{name}/alpha", alpha)], f"{name}/alpha_x")
    if beta != 1.0:
        x2 = b.node("Mul", [x2, b.const(f"{name}/beta", beta)], f"{name}/beta_x")
    return b.node("Add", [x1, x2], name)


def network_to_onnx(net, *, pre=None, post=None, graph_name: str = "layerbench"):
    """The ONNX ``ModelProto`` of ``net`` with its current weights.

    Parameters
    ----------
    net : backends.network.Network
        The graph; every layer must be one of those listed in the module docstring.
    pre, post : tuple of (scale, shift) or None
        Optional element-wise maps around the network: the input becomes
        ``(x - shift) / scale`` and the output ``y * scale + shift`` (``shift`` per channel).
    graph_name : str
        Name of the ONNX graph.

    Returns
    -------
    onnx.ModelProto
        Input ``"input"`` and output ``"output"``, both NHWC with free batch and spatial size.
    """
    import onnx
    from onnx import TensorProto, helper

    from backends.network import INPUT

    b = _Builder(net.dtype)
    params = net.params()
    x = "input"
    if pre is not None:
        scale, shift = pre
        x = b.node("Sub", [x, b.const("pre/shift", shift)], "pre/centred")
        x = b.node("Div", [x, b.const("pre/scale", scale)], "pre/scaled")
    names = {INPUT: b.node("Transpose", [x], "input/nchw", perm=[0, 3, 1, 2])}
    for node in net.nodes.values():
        names[node.name] = _layer(b, node.name, node.layer.spec, params,
                                  [names[i] for i in node.inputs])
    y = b.node("Transpose", [names[net.output]], "output/nhwc", final=post is None,
               perm=[0, 2, 3, 1])
    if post is not None:
        scale, shift = post
        y = b.node("Mul", [y, b.const("post/scale", scale)], "post/scaled")
        y = b.node("Add", [y, b.const("post/shift", shift)], "output", final=True)
    elem = TensorProto.FLOAT if b.dtype == np.float32 else TensorProto.DOUBLE
    c_in, c_out = net.input_shape[3], net.output_shape[3]
    graph = helper.make_graph(
        b.nodes, graph_name,
        [helper.make_tensor_value_info("input", elem, ["N", "H", "W", c_in])],
        [helper.make_tensor_value_info("output", elem, ["N", "H_out", "W_out", c_out])],
        initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="layerbench")
    onnx.checker.check_model(model)
    return model


def model_to_onnx(model, path: str | os.PathLike | None = None):
    """Export an :class:`~layerbench.models.SRModel` (normalisation included) to ONNX.

    Parameters
    ----------
    model : layerbench.models.SRModel
        EDSR, WDSR-A or WDSR-B without symmetric border padding (``pad == 0``: ONNX ``Pad``
        has no symmetric mode).
    path : str or os.PathLike, optional
        Where to write the ``.onnx`` file; not written when omitted.

    Returns
    -------
    onnx.ModelProto
        Maps NHWC float LR images in [0, 255] to HR images in [0, 255] (unclipped).
    """
    import onnx

    if model.net is None:
        raise SpecError(expected("model", "a network model (EDSR, WDSR-A/B)", model.name))
    if model.pad:
        raise SpecError(expected("model.pad", "0 (symmetric border padding has no ONNX Pad "
                                 "mode; build the model with border='same')", model.pad))
    mean = model.mean.reshape(1, 1, 1, -1)
    proto = network_to_onnx(model.net, pre=(model.norm, mean), post=(model.norm, mean),
                            graph_name=model.name)
    if path is not None:
        onnx.save(proto, os.fspath(path))
    return proto


def load_model(name: str, *, backend: str = "numpy"):
    """A shipped model by name (its weights), or an untrained preset when no weights ship.

    Parameters
    ----------
    name : str
        A name of :func:`layerbench.models.pretrained_names` or a key of
        :data:`layerbench.models.PRESETS`.
    backend : str
        The backend the model is built on.

    Returns
    -------
    layerbench.models.SRModel
    """
    from layerbench import models

    if name in models.pretrained_names():
        return models.pretrained(name, backend=backend)
    if name in models.PRESETS:
        return models.preset(name, backend=backend)
    raise SpecError(expected("MODEL", f"a shipped model {models.pretrained_names()} or a "
                             f"preset {tuple(models.PRESETS)}", name))


def add_arguments(p) -> None:
    """Declare the arguments of ``layerbench export`` on the argparse parser ``p``.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    p.add_argument("model", metavar="MODEL",
                   help="a shipped model (`layerbench models`) or a preset (untrained weights)")
    p.add_argument("--onnx", required=True, metavar="PATH", help="the .onnx file to write")


def run(a) -> None:
    """Write ``a.model`` to ``a.onnx`` and print the path, opset and input/output layout.

    Parameters
    ----------
    a : argparse.Namespace
        Parsed by :func:`add_arguments`.
    """
    model = load_model(a.model)
    model_to_onnx(model, a.onnx)
    print(f"{a.onnx}: {model.name}, ONNX opset {OPSET}, input NHWC float32 in [0, 255] -> "
          f"output NHWC x{model.scale} in [0, 255] (unclipped)")
