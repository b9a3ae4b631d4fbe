"""Build a model from an ONNX graph: any SR network exported from PyTorch, Keras or
:mod:`layerbench.onnx_export` runs on every backend.

Operators covered (NCHW semantics, mapped to our NHWC layers):

========================================  ==================================================
ONNX                                      layer
========================================  ==================================================
``Conv`` (group 1, dilation 1)            ``Conv2D``; pads ``k // 2`` at stride 1 or
                                          ``auto_pad=SAME_UPPER``: ``"same"``; no pads:
                                          ``"valid"``
``Relu``, ``Sigmoid``, ``Tanh``,          ``Activation`` (``relu``, ``logistic``, ``tanh``,
``Elu`` (alpha 1), ``LeakyRelu``          ``elu``, ``leaky``, ``selu``, ``softplus``,
(alpha 0.1), ``Selu``, ``Softplus``,      ``softsign``)
``Softsign``
``Add`` of two tensors, ``Mul`` by a      ``Shortcut(alpha, beta)`` (a scaled tensor used
scalar constant                           elsewhere: ``Shortcut(x, x, alpha, 0)``)
``DepthToSpace`` (DCR, CRD)               ``PixelShuffle(order="dcr" | "crd")``
``MaxPool``, ``AveragePool``              ``MaxPool2D``, ``AvgPool2D``
``BatchNormalization`` (inference)        ``BatchNorm``
``Identity``, ``Constant``                (aliases and constants)
========================================  ==================================================

Around the network: ``Sub``/``Div`` by constants on the graph input and ``Mul``/``Add`` by
constants on the graph output become the model's normalisation (``mean``, ``norm``), and a
``Transpose`` to NCHW on the input / to NHWC on the output marks an NHWC graph. Any other
operator is refused with an error naming the operator and the node.
"""

from __future__ import annotations

import os

import numpy as np

from backends import specs
from backends.errors import SpecError, expected
from backends.network import INPUT, Network

#: ONNX operator -> (our activation kind, the ONNX attributes it requires).
ACTIVATIONS: dict[str, tuple[str, dict[str, float]]] = {
    "Relu": ("relu", {}), "Sigmoid": ("logistic", {}), "Tanh": ("tanh", {}),
    "Elu": ("elu", {"alpha": 1.0}), "LeakyRelu": ("leaky", {"alpha": 0.1}),
    "Selu": ("selu", {}), "Softplus": ("softplus", {}), "Softsign": ("softsign", {}),
}

#: Nominal spatial size of the built network when the graph's input size is free.
NOMINAL_SIZE = 32


class OnnxImportError(SpecError):
    """An ONNX graph uses an operator or attribute no layer covers."""


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _refuse(node, what: str) -> OnnxImportError:
    return OnnxImportError(f"ONNX node {node.name or '(unnamed)'!r} (op {node.op_type}): {what}")


class _Graph:
    """The translation state: constants, aliases and the network being built."""

    def __init__(self, proto, dtype):
        from onnx import numpy_helper

        self.g = proto.graph
        self.const = {t.name: numpy_helper.to_array(t) for t in self.g.initializer}
        for node in self.g.node:
            if node.op_type == "Constant":
                self.const[node.output[0]] = numpy_helper.to_array(_attrs(node)["value"])
        inputs = [i for i in self.g.input if i.name not in self.const]
        if len(inputs) != 1 or len(self.g.output) != 1:
            raise OnnxImportError(expected("ONNX graph inputs and outputs", "one each",
                                           f"{len(inputs)} and {len(self.g.output)}"))
        self.input = inputs[0].name
        self.dtype = dtype
        self.consumers: dict[str, list] = {}
        for node in self.g.node:
            for name in node.input:
                self.consumers.setdefault(name, []).append(node)

    def dims(self) -> list:
        t = next(i for i in self.g.input if i.name == self.input).type.tensor_type
        return [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]


def _scalar(value, node) -> float:
    value = np.asarray(value)
    if value.size != 1:
        raise _refuse(node, f"expected a scalar constant, received shape {value.shape}")
    return float(value.reshape(()))


def _channel(value, channels: int, what: str) -> np.ndarray:
    value = np.asarray(value, np.float64).reshape(-1)
    if value.size not in (1, channels):
        raise OnnxImportError(expected(what, f"a constant of 1 or {channels} values",
                                       f"{value.size} values"))
    return np.broadcast_to(value, (channels,)).copy()


def _padding(node, attrs: dict, kernel: tuple[int, int], stride: tuple[int, int]) -> str:
    auto = attrs.get("auto_pad", b"NOTSET")
    auto = auto.decode() if isinstance(auto, bytes) else auto
    if auto == "SAME_UPPER":
        return "same"
    if auto == "VALID":
        return "valid"
    if auto != "NOTSET":
        raise _refuse(node, f"auto_pad: expected NOTSET, SAME_UPPER or VALID, received {auto}")
    pads = list(attrs.get("pads", [0, 0, 0, 0]))
    if not any(pads):
        return "valid"
    kh, kw = kernel
    if stride == (1, 1) and kh % 2 and kw % 2 and pads == [kh // 2, kw // 2] * 2:
        return "same"
    raise _refuse(node, f"pads: expected none or kernel // 2 on every side at stride 1 "
                  f"(kernel {list(kernel)}), received {pads} at stride {list(stride)}")


def _strip_ends(gr: _Graph):
    """The normalisation around the network and the nodes it takes.

    Returns ``(start, end, sub, div, mul, add, layout, skipped)``: the ONNX values the network
    starts from and ends at, the constants found (or None), the input layout, and the nodes
    taken by the normalisation and the layout transposes.
    """
    skipped: set[int] = set()
    sub = div = mul = add = None
    layout = "NCHW"
    cur = gr.input
    while True:
        nxt = gr.consumers.get(cur, [])
        if len(nxt) != 1:
            break
        node = nxt[0]
        other = [i for i in node.input if i != cur]
        if node.op_type == "Transpose" and layout == "NCHW" and \
                list(_attrs(node).get("perm", [])) == [0, 3, 1, 2]:
            layout = "NHWC"
        elif node.op_type == "Sub" and sub is None and div is None and \
                node.input[0] == cur and other and other[0] in gr.const:
            sub = gr.const[other[0]]
        elif node.op_type == "Div" and div is None and node.input[0] == cur and other and \
                other[0] in gr.const:
            div = gr.const[other[0]]
        else:
            break
        skipped.add(id(node))
        cur = node.output[0]
    start = cur
    producers = {o: node for node in gr.g.node for o in node.output}
    end = gr.g.output[0].name
    while end in producers:
        node = producers[end]
        others = [i for i in node.input if i in gr.const]
        tensors = [i for i in node.input if i not in gr.const]
        if len(tensors) != 1 or id(node) in skipped:
            break
        if node.op_type == "Transpose" and list(_attrs(node).get("perm", [])) == [0, 2, 3, 1]:
            if layout != "NHWC":
                break
        elif node.op_type == "Add" and add is None and mul is None and others:
            add = gr.const[others[0]]
        elif node.op_type == "Mul" and mul is None and others:
            mul = gr.const[others[0]]
        else:
            break
        skipped.add(id(node))
        end = tensors[0]
    return start, end, sub, div, mul, add, layout, skipped


def network_from_onnx(proto, *, backend: str = "numpy", dtype=np.float32):
    """Build a :class:`~backends.network.Network` from an ONNX graph, weights loaded.

    Parameters
    ----------
    proto : onnx.ModelProto
        The graph (see the module docstring for the operators covered).
    backend : str
        The backend the network runs on.
    dtype : float32 or float64

    Returns
    -------
    net : backends.network.Network
        NHWC, whatever the graph's layout.
    normalisation : dict
        ``mean`` (per channel, [0, 255] units) and ``norm`` found around the network (0 and
        1 when absent), and the graph's input ``layout`` (``"NCHW"`` or ``"NHWC"``).
    """
    gr = _Graph(proto, np.dtype(dtype))
    start, end, sub, div, mul, add, layout, skipped = _strip_ends(gr)
    dims = gr.dims()
    if len(dims) != 4:
        raise OnnxImportError(expected("ONNX graph input", "a 4-d image tensor", dims))
    n, c, h, w = dims if layout == "NCHW" else [dims[0], dims[3], dims[1], dims[2]]
    if c is None:
        raise OnnxImportError(expected("ONNX graph input channels", "a fixed number", c))
    shape = (1, h or NOMINAL_SIZE, w or NOMINAL_SIZE, c)
    net = Network(shape, backend=backend, dtype=dtype)
    values: dict[str, tuple[str, float]] = {start: (INPUT, 1.0)}  # onnx value -> (node, factor)
    params: dict[str, np.ndarray] = {}
    count = 0

    def fresh(op: str) -> str:
        nonlocal count
        count += 1
        return f"{op.lower()}{count}"

    def plain(name: str, node) -> str:
        """Our node holding ONNX value ``name`` unscaled (a Shortcut applies a factor)."""
        if name not in values:
            raise _refuse(node, f"input {name!r} is neither a tensor of the network nor "
                          "a constant it can take")
        ours, factor = values[name]
        if factor == 1.0:
            return ours
        return net.add(fresh("scale"), specs.Shortcut(alpha=factor, beta=0.0),
                       inputs=[ours, ours])

    for node in gr.g.node:
        if id(node) in skipped or node.op_type == "Constant":
            continue
        op, a = node.op_type, _attrs(node)
        ins = list(node.input)
        out = node.output[0]
        if op == "Identity":
            if ins[0] in gr.const:
                gr.const[out] = gr.const[ins[0]]
            else:
                values[out] = values[ins[0]]
            continue
        if op == "Conv":
            if a.get("group", 1) != 1:
                raise _refuse(node, f"group: expected 1, received {a['group']}")
            if any(d != 1 for d in a.get("dilations", [1, 1])):
                raise _refuse(node, f"dilations: expected 1, received {list(a['dilations'])}")
            if ins[1] not in gr.const:
                raise _refuse(node, "the weights must be a constant")
            weights = np.transpose(gr.const[ins[1]], (2, 3, 1, 0))  # OIHW -> HWIO
            kernel = weights.shape[:2]
            stride = tuple(a.get("strides", [1, 1]))
            name = fresh("conv")
            bias = len(ins) > 2 and ins[2] != ""
            net.add(name, specs.Conv2D(filters=weights.shape[3], kernel=kernel, stride=stride,
                                       padding=_padding(node, a, kernel, stride),
                                       use_bias=bias), inputs=[plain(ins[0], node)])
            params[f"{name}/weights"] = weights
            if bias:
                params[f"{name}/bias"] = gr.const[ins[2]]
        elif op in ACTIVATIONS:
            kind, want = ACTIVATIONS[op]
            for key, value in want.items():
                if not np.isclose(a.get(key, value), value, rtol=1e-6, atol=0):
                    raise _refuse(node, f"{key}: expected {value}, received {a[key]}")
            name = net.add(fresh(kind), specs.Activation(kind=kind), inputs=[plain(ins[0], node)])
        elif op == "Mul" and len([i for i in ins if i in gr.const]) == 1:
            tensor = next(i for i in ins if i not in gr.const)
            factor = _scalar(gr.const[next(i for i in ins if i in gr.const)], node)
            if tensor not in values:
                raise _refuse(node, f"input {tensor!r} is not a tensor of the network")
            ours, f0 = values[tensor]
            values[out] = (ours, f0 * factor)
            continue
        elif op == "Add" and not any(i in gr.const for i in ins):
            (a1, f1), (a2, f2) = (values[i] if i in values else (plain(i, node), 1.0)
                                  for i in ins)
            name = net.add(fresh("add"), specs.Shortcut(alpha=f1, beta=f2), inputs=[a1, a2])
        elif op == "DepthToSpace":
            mode = a.get("mode", b"DCR")
            mode = (mode.decode() if isinstance(mode, bytes) else mode).lower()
            name = net.add(fresh("shuffle"), specs.PixelShuffle(scale=a["blocksize"], order=mode),
                           inputs=[plain(ins[0], node)])
        elif op in ("MaxPool", "AveragePool"):
            if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1, 1])):
                raise _refuse(node, "ceil_mode and dilations: expected 0 and 1")
            if op == "AveragePool" and a.get("count_include_pad", 0):
                raise _refuse(node, "count_include_pad: expected 0 (padding is not averaged)")
            kernel = tuple(a["kernel_shape"])
            stride = tuple(a.get("strides", [1, 1]))
            cls = specs.MaxPool2D if op == "MaxPool" else specs.AvgPool2D
            name = net.add(fresh(op), cls(size=kernel, stride=stride,
                                          padding=_padding(node, a, kernel, stride)),
                           inputs=[plain(ins[0], node)])
        elif op == "BatchNormalization":
            if any(i not in gr.const for i in ins[1:5]):
                raise _refuse(node, "scale, B, mean and var must be constants")
            name = net.add(fresh("batchnorm"), specs.BatchNorm(epsilon=a.get("epsilon", 1e-5)),
                           inputs=[plain(ins[0], node)])
            for key, i in (("gamma", 1), ("beta", 2), ("moving_mean", 3),
                           ("moving_variance", 4)):
                params[f"{name}/{key}"] = gr.const[ins[i]]
        else:
            raise _refuse(node, "no layer covers this operator (covered: Conv, "
                          f"{', '.join(ACTIVATIONS)}, Add, Mul by a scalar constant, "
                          "DepthToSpace, MaxPool, AveragePool, BatchNormalization; see "
                          "layerbench.onnx_import)")
        values[out] = (name, 1.0)
        if out == end:
            break
    if end not in values:
        raise OnnxImportError(expected("ONNX graph output", "a tensor the network computes",
                                       end))
    net.output = plain(end, gr.g.node[-1])
    net.load_params({k: np.asarray(v, dtype) for k, v in params.items()}, strict=False)
    return net, _normalisation(sub, div, mul, add, c, layout)


def _normalisation(sub, div, mul, add, channels: int, layout: str) -> dict:
    """``mean`` and ``norm`` from the constants around the network; the pre and post maps
    must be inverses (``(x - mean) / norm`` and ``y norm + mean``)."""
    mean_in = (np.zeros(channels) if sub is None
               else _channel(sub, channels, "the Sub on the graph input"))
    mean_out = (np.zeros(channels) if add is None
                else _channel(add, channels, "the Add on the graph output"))
    norm_in = 1.0 if div is None else float(np.asarray(div).reshape(-1)[0])
    norm_out = 1.0 if mul is None else float(np.asarray(mul).reshape(-1)[0])
    if not (np.allclose(mean_in, mean_out, rtol=1e-6, atol=1e-6) and
            np.isclose(norm_in, norm_out, rtol=1e-6)):
        raise OnnxImportError(expected(
            "normalisation around the ONNX network", "an input map (x - mean) / norm and "
            "the output map y * norm + mean with the same mean and norm",
            f"mean {mean_in} / {mean_out}, norm {norm_in} / {norm_out}"))
    return {"mean": mean_in, "norm": norm_in, "layout": layout}


def from_onnx(path, *, backend: str = "numpy", dtype=np.float32, name: str | None = None):
    """An :class:`~layerbench.models.SRModel` from an ONNX file (or ``ModelProto``).

    Parameters
    ----------
    path : str, os.PathLike or onnx.ModelProto
        The graph; operators as listed in :mod:`layerbench.onnx_import`.
    backend : str
        The backend the model runs on.
    dtype : float32 or float64
    name : str, optional
        The model's name (default: the file's stem or the graph's name).

    Returns
    -------
    layerbench.models.SRModel
        ``arch="onnx"``; ``predict``/``super_resolve`` take NHWC images in [0, 255] whatever
        the graph's layout (``config["layout"]`` records it).
    """
    import onnx

    from layerbench.models.model import SRModel

    if isinstance(path, onnx.ModelProto):
        proto, stem = path, path.graph.name or "onnx"
    else:
        if not os.path.isfile(path):
            raise FileNotFoundError(expected("ONNX file", "an existing file", os.fspath(path)))
        proto, stem = onnx.load(os.fspath(path)), os.path.splitext(os.path.basename(path))[0]
    net, norm = network_from_onnx(proto, backend=backend, dtype=dtype)
    scale = net.output_shape[1] // net.input_shape[1]
    return SRModel(net, arch="onnx", config={"layout": norm["layout"]}, scale=scale,
                   mean=norm["mean"], norm=norm["norm"], name=name or stem)


def runtime_rtol(model) -> float:
    """The relative budget of ``model``'s output against another runtime: the reduction tier
    (winograd tier when a convolution may run Winograd) over the model's summed reduction
    length, times :data:`~backends.testing.tolerances.RUNTIME_FACTOR`.

    Parameters
    ----------
    model : layerbench.models.SRModel

    Returns
    -------
    float
        ``rtol``: outputs agree when ``max |ours - theirs| <= rtol max |theirs|``.
    """
    from backends.testing.tolerances import RUNTIME_FACTOR, tolerance
    from layerbench.models.graph import reduction_length

    tier = "winograd" if any({"winograd", "winograd4"} & set(getattr(n.layer.spec, "algos",
                                                                      tuple)())
                             for n in model.net.nodes.values()) else "reduction"
    dt = np.dtype(model.dtype)
    return tolerance(tier, dt, reduction_length(model.net)) * RUNTIME_FACTOR[dt]


def _default_backends() -> list[str]:
    from backends.registry import available_backends
    from layerbench.models.peer_compare import DEFAULT_BACKENDS

    return [b for b in DEFAULT_BACKENDS if b in available_backends()]


def add_arguments(p) -> None:
    """Declare the arguments of ``layerbench import-onnx`` on the argparse parser ``p``.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    p.add_argument("path", metavar="PATH", help="the .onnx file")
    p.add_argument("--backends", nargs="+", default=None,
                   help="backends to build the model on (default: every available one but "
                        "the oracles)")
    p.add_argument("--size", default="64x48", help="LR width x height of the test image")
    p.add_argument("--repeats", type=int, default=3, help="timed calls per backend (median)")


def run(a) -> None:
    """Import ``a.path``, run it on each backend, check it against ONNX Runtime and time it;
    print one Markdown row per backend.

    Parameters
    ----------
    a : argparse.Namespace
        Parsed by :func:`add_arguments`.
    """
    import statistics
    import time

    import onnx
    import onnxruntime as ort

    from layerbench.models.peer_compare import _image

    if not os.path.isfile(a.path):
        raise FileNotFoundError(expected("PATH", "an existing .onnx file", a.path))
    if a.repeats < 1:
        raise ValueError(expected("--repeats", "an integer >= 1", a.repeats))
    proto = onnx.load(a.path)
    x = _image(a.size)[None].astype(np.float32)
    session = ort.InferenceSession(proto.SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    model = from_onnx(proto, name=os.path.basename(a.path))
    layout = model.config["layout"]
    feed = x if layout == "NHWC" else x.transpose(0, 3, 1, 2)
    theirs = session.run(None, {session.get_inputs()[0].name: feed})[0]
    theirs = theirs if layout == "NHWC" else theirs.transpose(0, 2, 3, 1)
    print(f"{a.path}: {len(model.net.nodes)} layers, {model.num_params()} parameters, "
          f"x{model.scale}, {layout} graph, mean {np.round(model.mean, 3).tolist()}, "
          f"norm {model.norm:g}; image {a.size}")
    print("| backend | max abs diff vs ONNX Runtime | budget | seconds (median) |")
    print("|---|---|---|---|")
    failed = False
    for backend in a.backends or _default_backends():
        model = from_onnx(proto, backend=backend, name=os.path.basename(a.path))
        ours = model.predict(x)
        err = float(np.max(np.abs(ours - theirs)))
        budget = runtime_rtol(model) * float(np.max(np.abs(theirs)))
        failed |= not err <= budget
        times = []
        for _ in range(a.repeats):
            t0 = time.perf_counter()
            model.predict(x)
            times.append(time.perf_counter() - t0)
        print(f"| {backend} | {err:.3g}{'' if err <= budget else ' (OVER)'} | {budget:.3g} | "
              f"{statistics.median(times):.4f} |")
    if failed:
        raise SystemExit(1)
