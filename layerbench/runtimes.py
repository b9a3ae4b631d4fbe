"""Every CPU runtime a user would pick, each at its best, timed in its own fresh process.

One measurement is a *subject* (one convolution layer ``conv:NxHxWxC`` or one model name at
an LR size) on a *runtime*: one of our backends, or a peer:

``keras``
    The Keras twin with our weights (:func:`layerbench.models.keras_peer.build_like`), called
    through a ``tf.function`` traced for the exact input shape (a static signature), the
    intra-op pool at the thread count, the inter-op pool at 1, oneDNN on.
``onnxruntime``
    The ONNX export (:mod:`layerbench.onnx_export`), CPU execution provider, all graph
    optimisations, intra-op threads at the count, inter-op 1, sequential execution.
``openvino``
    The same ONNX graph compiled for ``CPU`` with the input shape fixed,
    ``INFERENCE_NUM_THREADS`` at the count, precision hint f32, latency hint.
``torch``
    The network rebuilt as PyTorch modules from our weights (:func:`torch_module`), NCHW in
    channels-last memory format, ``torch.inference_mode``, ``torch.set_num_threads``.

Each (subject, runtime, thread count) runs in a fresh Python process
(``python -m layerbench.runtimes --worker JSON``), so no runtime shares a process, a thread
pool or a warm cache with another; rounds are interleaved across runtimes and the medians
reported. Every row records the runtime's settings and version.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from backends.errors import SpecError, expected

#: The peers: other runtimes a user would pick for CPU inference.
PEERS = ("keras", "onnxruntime", "openvino", "torch")


# -- subjects -------------------------------------------------------------------------------

def parse_shape(text: str) -> tuple[int, int, int, int]:
    """``"1x128x128x64"`` -> ``(1, 128, 128, 64)`` (NHWC).

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple of 4 int
    """
    try:
        shape = tuple(int(v) for v in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 4 or min(shape) < 1:
        raise SpecError(expected("--shape", "NxHxWxC with positive integers, e.g. 1x128x128x64",
                                 text))
    return shape


def parse_size(text: str) -> tuple[int, int]:
    """``"510x339"`` (width x height) -> ``(510, 339)``.

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple of 2 int
    """
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        w = h = 0
    if w < 1 or h < 1:
        raise SpecError(expected("--size", "WxH with positive integers, e.g. 510x339", text))
    return w, h


def build_subject(subject: dict, backend: str = "numpy"):
    """The network of a subject and its input.

    Parameters
    ----------
    subject : dict
        ``{"layer": "conv", "shape": [N, H, W, C]}`` (a 3x3 ``same`` convolution with C
        filters), ``{"model": name, "size": [W, H]}``, or ``{"train": name, "batch": B,
        "patch": P}`` (one training step on B random LR patches of P x P pixels).
    backend : str

    Returns
    -------
    run : object
        An :class:`~layerbench.models.SRModel` (model) or a :class:`~backends.network.Network`
        (layer); both have ``predict(x)``.
    x : numpy.ndarray
        The NHWC float32 input (LR patches in ``[0, 255]`` for a training step).
    """
    rng = np.random.default_rng(4)
    if "train" in subject:
        from layerbench.onnx_export import load_model

        p = subject["patch"]
        return (load_model(subject["train"], backend=backend),
                rng.integers(0, 256, (subject["batch"], p, p, 3)).astype(np.float32))
    if "layer" in subject:
        from backends import specs
        from backends.network import Network

        if subject["layer"] != "conv":
            raise SpecError(expected("--layer", "'conv'", subject["layer"]))
        shape = tuple(subject["shape"])
        net = Network(shape, backend=backend, seed=1)
        net.add("conv", specs.Conv2D(filters=shape[3], kernel=3, algo="auto"))
        return net, rng.standard_normal(shape).astype(np.float32)
    from layerbench.onnx_export import load_model

    w, h = subject["size"]
    return (load_model(subject["model"], backend=backend),
            rng.integers(0, 256, (1, h, w, 3)).astype(np.float32))


def subject_flops(subject: dict) -> float:
    """Direct-equivalent forward FLOPs of a subject (``spec.flops`` of every layer; a
    Winograd convolution counts as the direct convolution it replaces).

    Parameters
    ----------
    subject : dict
        As :func:`build_subject`.

    Returns
    -------
    float
        The forward's FLOPs; for a training step (``"train"`` subject) three times that
        (the backward computes the input and the weight gradients, each as much as the
        forward).
    """
    from layerbench.models.inference import _flops

    run, x = build_subject(subject)
    net = getattr(run, "net", run)
    forward = float(sum(_flops(net, x.shape).values()))
    # a training step: forward, and a backward of twice the forward's arithmetic
    return 3 * forward if "train" in subject else forward


def _onnx(run):
    from layerbench.onnx_export import model_to_onnx, network_to_onnx

    return model_to_onnx(run) if hasattr(run, "net") else network_to_onnx(run)


# -- PyTorch --------------------------------------------------------------------------------

#: Layer kinds :func:`describe` carries and the spec fields it keeps of each.
_DESCRIBED = {"Conv2D": ("kernel", "stride", "padding", "activation", "has_weights"),
              "Conv2DAdd": ("kernel", "stride", "padding", "alpha", "beta", "has_weights"),
              "Shortcut": ("alpha", "beta"), "PixelShuffle": ("scale", "order"),
              "Activation": ("kind",)}


def describe(run) -> dict:
    """The graph of ``run`` as plain data (JSON-ready): what a peer needs to rebuild it
    without our model (:func:`torch_from`, :func:`keras_from`).

    Parameters
    ----------
    run : backends.network.Network or layerbench.models.SRModel

    Returns
    -------
    dict
        ``nodes`` (``name``, ``layer`` (the spec's class), ``inputs`` and the spec fields of
        :data:`_DESCRIBED`), ``output``, ``norm`` and ``mean`` (an SRModel's normalisation,
        else None), and for an SRModel ``arch``, ``config``, ``dtype``.
    """
    net = getattr(run, "net", run)
    nodes = []
    for node in net.nodes.values():
        spec, kind = node.layer.spec, type(node.layer.spec).__name__
        if kind not in _DESCRIBED:
            raise SpecError(expected(f"layer {node.name!r}", "a layer with a peer twin ("
                                     f"{', '.join(_DESCRIBED)})", kind))
        fields = {f: getattr(spec, f) for f in _DESCRIBED[kind]}
        nodes.append({"name": node.name, "layer": kind, "inputs": list(node.inputs),
                      **{k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}})
    out = {"nodes": nodes, "output": net.output, "norm": None, "mean": None}
    if hasattr(run, "net"):
        out.update(norm=float(run.norm), mean=np.asarray(run.mean, np.float32).tolist(),
                   arch=run.arch, config=dict(run.config), dtype=np.dtype(run.dtype).name)
    return out


def torch_module(run, trainable: bool = False):
    """A ``torch.nn.Module`` computing ``run`` (a Network or an SRModel) with its weights,
    NCHW in and out (:func:`torch_from` of :func:`describe`).

    Parameters
    ----------
    run : backends.network.Network or layerbench.models.SRModel
        Layers: Conv2D (stride 1 ``same``, or ``valid``), Conv2DAdd, Shortcut, PixelShuffle,
        Activation ``relu``.
    trainable : bool
        Register the weights and biases as ``torch.nn.Parameter`` (for a training step);
        otherwise they are constant tensors.

    Returns
    -------
    torch.nn.Module
    """
    return torch_from(describe(run), getattr(run, "net", run).params(), trainable)


def torch_from(desc: dict, params: dict, trainable: bool = False):
    """A ``torch.nn.Module`` computing the graph ``desc`` (:func:`describe`) with the
    weights ``params`` (``"node/weights"`` HWIO, ``"node/bias"``), NCHW in and out.

    Parameters
    ----------
    desc : dict
        From :func:`describe`.
    params : dict of str to numpy.ndarray
    trainable : bool
        As :func:`torch_module`.

    Returns
    -------
    torch.nn.Module
    """
    import torch
    import torch.nn.functional as F

    from backends.network import INPUT

    params = {k: torch.from_numpy(np.array(v)) for k, v in params.items()}
    weights = {k: v.permute(3, 2, 0, 1).contiguous(memory_format=torch.channels_last)
               for k, v in params.items() if k.endswith("/weights")}
    if trainable:
        weights = {k: torch.nn.Parameter(v) for k, v in weights.items()}
        params = {k: torch.nn.Parameter(v) for k, v in params.items()
                  if not k.endswith("/weights")}
    nodes = desc["nodes"]
    norm = (desc["norm"], torch.tensor(desc["mean"], dtype=torch.float32).view(1, -1, 1, 1)) \
        if desc["norm"] is not None else None

    def shuffle(x, r, order):
        if order == "crd":
            return F.pixel_shuffle(x, r)
        n, c, h, w = x.shape
        return x.view(n, r, r, c // (r * r), h, w).permute(0, 3, 4, 1, 5, 2).reshape(
            n, c // (r * r), h * r, w * r)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            if trainable:  # registered, so that .parameters() lists them for an optimizer
                self.weights = torch.nn.ParameterList([*weights.values(), *params.values()])

        def forward(self, x):
            if norm is not None:
                x = (x - norm[1]) / norm[0]
            v = {INPUT: x}
            for s in nodes:
                kind, name = s["layer"], s["name"]
                a = v[s["inputs"][0]]
                if kind in ("Conv2D", "Conv2DAdd"):
                    k = s["kernel"][0]
                    if s["padding"] == "same" and (tuple(s["stride"]) != (1, 1) or k % 2 == 0):
                        raise SpecError(expected(f"{name}: padding", "'same' at stride 1 "
                                                 "with an odd kernel, or 'valid'", s["padding"]))
                    y = F.conv2d(a, weights[f"{name}/weights"], params.get(f"{name}/bias"),
                                 stride=tuple(s["stride"]),
                                 padding=k // 2 if s["padding"] == "same" else 0)
                    if kind == "Conv2D":
                        y = F.relu(y) if s["activation"] == "relu" else y
                    else:
                        y = s["alpha"] * y + s["beta"] * v[s["inputs"][1]]
                elif kind == "Shortcut":
                    y = s["alpha"] * a + s["beta"] * v[s["inputs"][1]]
                elif kind == "PixelShuffle":
                    y = shuffle(a, s["scale"], s["order"])
                elif kind == "Activation" and s["kind"] == "relu":
                    y = F.relu(a)
                else:
                    raise SpecError(expected(f"layer {name!r}", "a layer with a PyTorch "
                                             "twin (Conv2D, Conv2DAdd, Shortcut, PixelShuffle, "
                                             "relu)", kind))
                v[name] = y
            y = v[desc["output"]]
            return y * norm[0] + norm[1] if norm is not None else y

    return Net() if trainable else Net().eval()


# -- the worker: one runtime in this process ------------------------------------------------

def _keras_threads(threads: int, inter_op: int = 1) -> None:
    import tensorflow as tf

    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    except RuntimeError:  # TensorFlow already started in this process: its pools stay
        pass


def _keras_model(run, x: np.ndarray):
    import tensorflow as tf

    from layerbench.models import keras_peer

    if hasattr(run, "net"):
        return keras_peer.build_like(run)
    node = next(iter(run.nodes.values()))
    kmodel = tf.keras.Sequential([tf.keras.Input(x.shape[1:]), tf.keras.layers.Conv2D(
        node.layer.spec.filters, 3, padding="same")])
    p = run.params()
    kmodel.layers[-1].set_weights([p["conv/weights"], p["conv/bias"]])
    return kmodel


def peer_call(runtime: str, artifact, x: np.ndarray, threads: int,
              options: dict | None = None):
    """``(call, settings)``: a function running ``x`` once on the peer ``runtime`` and the
    peer's settings, from the model in the peer's own form.

    Parameters
    ----------
    runtime : str
        One of :data:`PEERS`.
    artifact : object
        ``keras``: a Keras model; ``onnxruntime``/``openvino``: the ONNX model's bytes or
        file path; ``torch``: a module taking and returning NCHW tensors.
    x : numpy.ndarray
        The NHWC float32 input.
    threads : int
    options : dict, optional
        Keras only, to measure what each setting costs: ``signature`` ``"static"`` (default)
        or ``"dynamic"`` (traced for any image size), ``inter_op`` (default 1).

    Returns
    -------
    call : callable
        No arguments; returns the NHWC output as a numpy array.
    settings : dict
        Version and settings of the runtime.
    """
    options = options or {}
    if runtime == "keras":
        import tensorflow as tf

        _keras_threads(threads, options.get("inter_op", 1))
        dynamic = options.get("signature", "static") == "dynamic"
        shape = (x.shape[0], None, None, x.shape[3]) if dynamic else x.shape
        fn = tf.function(lambda t: artifact(t, training=False),
                         input_signature=[tf.TensorSpec(shape, tf.float32)])
        xt = tf.constant(x)
        return (lambda: fn(xt).numpy()), {
            "version": tf.__version__,
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
            "signature": "dynamic" if dynamic else "static"}
    if runtime == "onnxruntime":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(artifact, so, providers=["CPUExecutionProvider"])
        return (lambda: sess.run(None, {"input": x})[0]), {
            "version": ort.__version__, "provider": "CPUExecutionProvider",
            "intra_op": threads, "inter_op": 1, "optimisation": "all"}
    if runtime == "openvino":
        import openvino as ov

        core = ov.Core()
        model = core.read_model(artifact)
        model.reshape({"input": list(x.shape)})
        config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": "f32",
                  "PERFORMANCE_HINT": "LATENCY"}
        compiled = core.compile_model(model, "CPU", config)
        request = compiled.create_infer_request()
        return (lambda: request.infer({0: x})[0]), {
            "version": ov.__version__, "device": "CPU", "threads": threads,
            "precision": "f32", "hint": "latency"}
    if runtime == "torch":
        import torch

        torch.set_num_threads(threads)
        xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy()).contiguous(
            memory_format=torch.channels_last)

        def call():
            with torch.inference_mode():
                return artifact(xt).numpy().transpose(0, 2, 3, 1)

        return call, {"version": torch.__version__, "threads": threads,
                      "memory_format": "channels_last", "mode": "inference_mode",
                      "compile": "no"}
    raise SpecError(expected("peer runtime", f"one of {PEERS}", runtime))


def _runner(runtime: str, run, x: np.ndarray, threads: int, options: dict | None = None):
    """``(call, settings)``: a function running ``x`` once on ``runtime`` (a peer, see
    :func:`peer_call`, given the model converted here, or one of our backends) and the
    settings."""
    if runtime == "keras":
        _keras_threads(threads, (options or {}).get("inter_op", 1))  # before TF starts
        return peer_call(runtime, _keras_model(run, x), x, threads, options)
    if runtime in ("onnxruntime", "openvino"):
        return peer_call(runtime, _onnx(run).SerializeToString(), x, threads, options)
    if runtime == "torch":
        import torch

        torch.set_num_threads(threads)
        return peer_call(runtime, torch_module(run), x, threads, options)

    # the process ends after the measurement: the count stays in force until then (set, not
    # a `threads()` context, whose collection would restore the previous count)
    _set_threads(runtime, threads)
    return (lambda: run.predict(x)), {"version": "this package", "threads": threads,
                                      "openblas": openblas_kernels()}


def _numpy_or_scipy(path: str) -> bool:
    """Whether the library at ``path`` is NumPy's or SciPy's (or a system one): another
    wheel's private copy (OpenCV ships an older OpenBLAS, which names the same CPU otherwise:
    ``Zen`` where NumPy's says ``Haswell``) runs none of our products."""
    parts = Path(path).parent.parts
    roots = [i for i, p in enumerate(parts) if p in ("site-packages", "dist-packages")]
    return not roots or parts[roots[-1] + 1:][:1] in (
        ("numpy.libs",), ("scipy.libs",), ("numpy",), ("scipy",))


def openblas_kernels() -> str:
    """The kernels of the OpenBLAS libraries loaded here, NumPy's and SciPy's (what the numpy
    and numba backends' matrix products and cython's float64 ones run; cython's float32
    products are its own), as threadpoolctl names them: ``"SkylakeX"``, ``"Haswell"``...
    OpenBLAS picks them when it loads, from the CPU or from ``OPENBLAS_CORETYPE``, and on
    an AVX-512 CPU the AVX2 ``Haswell`` kernels run float32 products at about half the rate
    of the AVX-512 ones (docs/benchmarks/peers.md), so every row of ours records them.

    Returns
    -------
    str
        The distinct names joined by ``/`` (``"none"`` without OpenBLAS).
    """
    import numpy  # noqa: F401  (loads NumPy's library)
    import scipy.linalg.cython_blas  # noqa: F401  (SciPy's library: Numba's np.dot)
    from threadpoolctl import threadpool_info

    names = sorted({i.get("architecture") or "unknown" for i in threadpool_info()
                    if i.get("internal_api") == "openblas"
                    and _numpy_or_scipy(i.get("filepath", ""))})
    return "/".join(names) or "none"


def _set_threads(backend: str, n: int) -> None:
    """Our ``backend``'s kernels run on ``n`` threads for the rest of this process."""
    from backends import get_backend

    with get_backend(backend).threads(n):  # validates n
        pass
    get_backend(backend)._set_threads(n)


# -- a peer without our model in its process (asv) ------------------------------------------

def prepare_peer(model: str, overrides: dict, folder) -> str:
    """Convert a model for the peers in a fresh Python process and write it to ``folder``,
    so that the process timing a peer never builds our model nor starts our backends:
    ``STEM.onnx`` (ONNX Runtime, OpenVINO; when ``onnx`` is installed), ``STEM.npz`` (the
    weights) and ``STEM.json`` (:func:`describe`; PyTorch and Keras rebuild the graph from
    these two).

    Parameters
    ----------
    model : str
        A preset name (:data:`layerbench.models.PRESETS`).
    overrides : dict
        Preset overrides (e.g. ``n_resblocks``).
    folder : str or os.PathLike
        Where the files go.

    Returns
    -------
    str
        ``STEM``, the path without suffix, for :func:`load_peer`.
    """
    task = {"model": model, "overrides": overrides,
            "stem": os.path.join(os.fspath(folder), model)}
    _child("--prepare", task, {"TF_CPP_MIN_LOG_LEVEL": "3"},
           f"preparing {model} for the peers")
    return task["stem"]


def _child(mode: str, task: dict, env: dict, what: str) -> str:
    """Run ``python -m layerbench.runtimes MODE TASK_JSON`` in a fresh process importing this
    copy of the package (the working directory is the folder holding it, which ``-m`` puts
    first on the path); return its standard output, or raise naming ``what`` failed."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    e = {**os.environ, **env}
    e["PYTHONPATH"] = os.pathsep.join([root, e.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = subprocess.run([sys.executable, "-m", "layerbench.runtimes", mode, json.dumps(task)],
                         capture_output=True, text=True, env=e, cwd=root)
    if out.returncode:
        last = out.stderr.strip().splitlines()[-1] if out.stderr.strip() else ""
        raise RuntimeError(f"{what} failed: {last or f'exit status {out.returncode}'}")
    return out.stdout


def _prepare(task: dict) -> None:
    import importlib.util

    from layerbench import models

    run = models.preset(task["model"], backend="numpy", **task["overrides"])
    stem = task["stem"]
    np.savez(stem + ".npz", **run.net.params())
    with open(stem + ".json", "w") as f:
        json.dump(describe(run), f)
    if importlib.util.find_spec("onnx") is not None:
        from layerbench.onnx_export import model_to_onnx

        model_to_onnx(run, stem + ".onnx")


def keras_from(desc: dict, params: dict):
    """The Keras twin of the model ``desc`` (:func:`describe` of an SRModel) with the
    weights ``params``: our convolutions in graph order are the twin's ``Conv2D`` layers in
    creation order (:func:`layerbench.models.keras_peer.build_like`).

    Parameters
    ----------
    desc : dict
    params : dict of str to numpy.ndarray

    Returns
    -------
    keras.Model
    """
    from tensorflow.keras import layers

    from backends.errors import ShapeError
    from layerbench.models import keras_peer

    kmodel = keras_peer.architecture(desc["arch"], desc["config"], desc["dtype"])
    ours = [n["name"] for n in desc["nodes"] if n.get("has_weights")]
    theirs = [layer for layer in kmodel.layers if isinstance(layer, layers.Conv2D)]
    if len(ours) != len(theirs):
        raise ShapeError(expected("convolution layers of the Keras twin", len(ours),
                                  len(theirs)))
    for name, layer in zip(ours, theirs, strict=True):
        layer.set_weights([params[f"{name}/weights"], params[f"{name}/bias"]])
    return kmodel


def load_peer(runtime: str, stem: str, x: np.ndarray, threads: int):
    """``(call, settings)`` of :func:`peer_call` for a model :func:`prepare_peer` wrote,
    importing only the peer's framework (and numpy).

    Parameters
    ----------
    runtime : str
        One of :data:`PEERS`.
    stem : str
        From :func:`prepare_peer`.
    x : numpy.ndarray
        The NHWC float32 input.
    threads : int

    Returns
    -------
    call : callable
    settings : dict
    """
    if runtime in ("onnxruntime", "openvino"):
        return peer_call(runtime, stem + ".onnx", x, threads)
    with open(stem + ".json") as f:
        desc = json.load(f)
    with np.load(stem + ".npz") as z:
        params = dict(z)
    if runtime == "keras":
        _keras_threads(threads)  # before TensorFlow starts its pools
        return peer_call(runtime, keras_from(desc, params), x, threads)
    if runtime == "torch":
        import torch

        torch.set_num_threads(threads)
        return peer_call(runtime, torch_from(desc, params), x, threads)
    raise SpecError(expected("peer runtime", f"one of {PEERS}", runtime))


#: Runtimes that can time a training step (the ONNX peers are inference engines).
TRAIN_PEERS = ("keras", "torch")
#: Adam's learning rate in the timed training step (EDSR's; time does not depend on it).
TRAIN_LR = 1e-4


def _train_runner(runtime: str, run, x: np.ndarray, threads: int):
    """``(call, settings)``: one training step of the model ``run`` on the LR batch ``x``
    (HR targets drawn here), mean absolute error, Adam.

    Our backends run what ``layerbench train`` runs per step (forward, loss, backward,
    ``update``); ``keras`` is ``Model.train_on_batch`` of the compiled Keras twin; ``torch``
    the module of :func:`torch_module` with ``torch.optim.Adam`` in channels-last memory.
    """
    s = run.scale
    rng = np.random.default_rng(5)
    hr = rng.integers(0, 256, (x.shape[0], x.shape[1] * s, x.shape[2] * s, 3)).astype(
        np.float32)
    if runtime == "keras":
        import tensorflow as tf

        _keras_threads(threads)
        from layerbench.models import keras_peer

        kmodel = keras_peer.build_like(run)
        kmodel.compile(optimizer=tf.keras.optimizers.Adam(TRAIN_LR), loss="mae")
        return (lambda: kmodel.train_on_batch(x, hr)), {
            "version": tf.__version__, "intra_op": threads, "inter_op": 1,
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
            "call": "train_on_batch"}
    if runtime == "torch":
        import torch

        torch.set_num_threads(threads)
        module = torch_module(run, trainable=True)
        opt = torch.optim.Adam(module.parameters(), lr=TRAIN_LR)
        xt, yt = (torch.from_numpy(a.transpose(0, 3, 1, 2).copy()).contiguous(
            memory_format=torch.channels_last) for a in (x, hr))

        def step():
            opt.zero_grad(set_to_none=True)
            loss = torch.nn.functional.l1_loss(module(xt), yt)
            loss.backward()
            opt.step()
            return loss.item()

        return step, {"version": torch.__version__, "threads": threads,
                      "memory_format": "channels_last", "optimizer": "torch.optim.Adam"}
    if runtime in PEERS:
        raise SpecError(expected("training-step runtime", f"one of our backends or "
                                 f"{TRAIN_PEERS}", runtime))
    from backends import Adam, LossFunction, specs

    _set_threads(runtime, threads)  # in force until the process ends
    adam = Adam(lr=TRAIN_LR)
    loss = LossFunction(specs.Loss(kind="mae"), backend=runtime, dtype=run.dtype)
    xn = run.normalise(x)
    target = ((hr - run.mean) / run.norm).astype(run.dtype)

    def step():
        value = loss.forward(run.forward(xn, training=True), target)
        run.backward(loss.backward())
        run.update(adam)
        return value

    return step, {"version": "this package", "threads": threads, "optimizer": "Adam",
                  "openblas": openblas_kernels()}


def worker(task: dict) -> dict:
    """Run one (subject, runtime, threads) task in this process: build, one warm-up call
    (a training step for a ``"train"`` subject) whose output is summed and dropped, then
    ``repeats`` timed calls.

    Parameters
    ----------
    task : dict
        ``subject`` (see :func:`build_subject`), ``runtime``, ``threads``, ``repeats``;
        optional ``options`` (see :func:`peer_call`) and ``alternate``: one of our backends
        run in this same process, its calls alternating with ``runtime``'s (to measure
        what sharing a process costs).

    Returns
    -------
    dict
        ``seconds`` (the timed calls), ``settings``, ``checksum`` (sum of the output, or
        the warm-up step's loss), ``load1`` (the 1-minute load average at the end), and
        with ``alternate`` its ``alternate_seconds``.
    """
    backend = task["runtime"] if task["runtime"] not in PEERS else "numpy"
    run, x = build_subject(task["subject"], backend=backend)
    if "train" in task["subject"]:
        call, settings = _train_runner(task["runtime"], run, x, task["threads"])
    else:
        call, settings = _runner(task["runtime"], run, x, task["threads"],
                                 task.get("options"))
    calls = [call]
    if task.get("alternate"):  # our backend in the same process, called in turn
        ours, xo = build_subject(task["subject"], backend=task["alternate"])
        calls.append(_runner(task["alternate"], ours, xo, task["threads"])[0])
    # the warm-up output is summed and let go before the timed calls, as a user's loop lets
    # each result go: a runtime that recycles its output memory then gets it back
    checksum = float(np.sum(call()))
    for c in calls[1:]:
        c()
    seconds: list[list[float]] = [[] for _ in calls]
    for _ in range(task["repeats"]):
        for c, got in zip(calls, seconds, strict=True):
            t0 = time.perf_counter()
            c()
            got.append(time.perf_counter() - t0)
    out = {"seconds": seconds[0], "settings": settings, "checksum": checksum,
           "load1": os.getloadavg()[0]}
    if task.get("alternate"):
        out["alternate_seconds"] = seconds[1]
    return out


def fresh(task: dict, env: dict | None = None) -> dict:
    """:func:`worker` in a fresh Python process, with the thread-count variables set.

    Parameters
    ----------
    task : dict
        As :func:`worker`.
    env : dict, optional
        Extra environment variables (e.g. ``TF_ENABLE_ONEDNN_OPTS``).

    Returns
    -------
    dict
        :func:`worker`'s result.
    """
    n = str(task["threads"])
    e = {"OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n,
         "NUMBA_NUM_THREADS": n, "TF_CPP_MIN_LOG_LEVEL": "3", "TF_ENABLE_ONEDNN_OPTS": "1",
         **(env or {})}
    out = _child("--worker", task, e, f"{task['runtime']} on {task['subject']} (threads {n})")
    return json.loads(out.strip().splitlines()[-1])


class Store:
    """Every fresh process's result, one JSON line per process, keyed by what it measured
    (subject, runtime, threads, round, repeats): a run that was killed continues where it
    stopped, and the tables are made from every line.

    Parameters
    ----------
    path : str or os.PathLike, optional
        The JSON-lines file (created when the first result arrives); in memory when omitted.
        A last line cut short by a killed write is ignored.
    """

    #: The key of the line naming the machine every other line was measured on.
    MACHINE = {"machine": 1}

    def __init__(self, path=None):
        self.path, self.entries, self._checked = path, {}, False
        if path is not None and os.path.exists(path):
            with open(path) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    self.entries[self.id(e["key"])] = e

    @staticmethod
    def id(key: dict) -> str:
        """The canonical text of ``key`` (sorted JSON).

        Parameters
        ----------
        key : dict

        Returns
        -------
        str
        """
        return json.dumps(key, sort_keys=True)

    def get(self, key: dict) -> dict | None:
        """The entry stored under ``key``, or None.

        Parameters
        ----------
        key : dict

        Returns
        -------
        dict or None
        """
        return self.entries.get(self.id(key))

    def put(self, key: dict, value: dict) -> dict:
        """Store ``value`` under ``key``, appending a line to the file (flushed to disk).

        Parameters
        ----------
        key : dict
        value : dict

        Returns
        -------
        dict
            The entry: ``value`` with ``key``.
        """
        if key != self.MACHINE:
            self.check_machine()
        entry = {"key": key, **value}
        self.entries[self.id(key)] = entry
        if self.path is not None:
            with open(self.path, "a") as f:
                f.write(json.dumps(entry, sort_keys=True) + "\n")
                f.flush()
                os.fsync(f.fileno())
        return entry


    def machine(self) -> dict | None:
        """The machine the entries were measured on (:func:`machine`), None if not recorded.

        Returns
        -------
        dict or None
        """
        return self.get(self.MACHINE)

    def check_machine(self) -> None:
        """Record this machine (:func:`machine`) in a new store, or check it is the one
        already recorded: a median over two CPUs would describe neither, so a store takes one
        machine's rounds. Called before anything is measured into the store (a store is read
        and rendered anywhere).

        Raises
        ------
        SpecError
            If the store holds rounds of another machine, or rounds with no machine.
        """
        if self._checked:
            return
        here = machine()
        got = self.machine()
        if got is None and self.entries:
            raise SpecError(expected(
                f"--state {self.path}", "rounds that name the machine that measured them (a "
                f"line with the key {json.dumps(self.MACHINE)}); measure into a new --state "
                "file (nox -s peers -- --out DIR)", "rounds with no machine recorded"))
        if got is None:
            self.put(self.MACHINE, here)
        else:
            differ = [k for k in MACHINE_IDENTITY
                      if got.get(k) is not None and got.get(k) != here.get(k)]
            if differ:
                raise SpecError(expected(
                    f"--state {self.path}", f"rounds of this machine ({machine_line(here)}): "
                    "measure into a new --state file and tables (nox -s peers -- --out DIR)",
                    f"rounds of {machine_line(got)}"))
        self._checked = True


def _commit() -> str:
    from layerbench.provenance import git_sha

    g = git_sha()
    return g["sha"][:12] + ("+dirty" if g["dirty"] else "")


def compare(subject: dict, runtimes, threads=(1,), *, rounds: int = 3, repeats: int = 1,
            store: Store | None = None, progress=None) -> list[dict]:
    """Interleaved rounds of fresh processes: per round, every runtime at every thread count
    (the runtimes' order rotated by one each round).

    Parameters
    ----------
    subject : dict
        As :func:`build_subject`.
    runtimes : sequence of str
        Our backends and/or :data:`PEERS`.
    threads : sequence of int
    rounds : int
        Fresh processes per (runtime, threads); the median of their medians is reported.
    repeats : int
        Timed calls in each process (after one warm-up call).
    store : Store, optional
        Results already measured (skipped) and where new ones go; a runtime that fails is
        stored with its ``error`` and not tried again in later rounds.
    progress : callable, optional
        Called with each new store entry.

    Returns
    -------
    list of dict
        :func:`aggregate` of the store's entries for this subject.
    """
    store = Store() if store is None else store
    runtimes, failed = list(runtimes), set()
    for k in range(rounds):
        order = runtimes[k % len(runtimes):] + runtimes[:k % len(runtimes)] if runtimes \
            else []
        for n in threads:
            for r in order:
                key = {"subject": subject, "runtime": r, "threads": n, "round": k,
                       "repeats": repeats}
                if store.get(key) is not None or (r, n) in failed:
                    continue
                store.check_machine()
                t0 = time.time()
                try:
                    res = fresh({"subject": subject, "runtime": r, "threads": n,
                                 "repeats": repeats})
                except RuntimeError as err:
                    failed.add((r, n))
                    res = {"error": str(err)}
                entry = store.put(key, {**res, "commit": _commit(), "started": t0})
                if progress:
                    progress(entry)
    return aggregate([e for e in store.entries.values() if e["key"].get("subject") == subject])


def aggregate(entries: list[dict]) -> list[dict]:
    """One row per (subject, runtime, threads) of store entries: the median over processes
    of each process's median time.

    Parameters
    ----------
    entries : list of dict
        :class:`Store` entries.

    Returns
    -------
    list of dict
        ``subject``, ``runtime``, ``peer``, ``threads``, ``seconds`` (None when every process
        failed), ``rounds`` (per-process medians), ``settings``, ``load1`` (the largest load
        average seen at a process's end), ``commit`` (of the measuring code) and ``error``
        (the last failure, or None), in the order first measured.
    """
    groups: dict[str, dict] = {}
    for e in sorted(entries, key=lambda e: e.get("started", 0)):
        k = e["key"]
        g = groups.setdefault(Store.id([k["subject"], k["runtime"], k["threads"]]), {
            "subject": k["subject"], "runtime": k["runtime"], "peer": k["runtime"] in PEERS,
            "threads": k["threads"], "rounds": [], "settings": {}, "load1": None,
            "commits": [], "error": None})
        if "error" in e:
            g["error"] = e["error"]
            continue
        g["rounds"].append(statistics.median(e["seconds"]))
        g["settings"] = e["settings"]
        g["load1"] = max(e.get("load1", 0.0), g["load1"] or 0.0)
        if e.get("commit") and e["commit"] not in g["commits"]:
            g["commits"].append(e["commit"])
    rows = []
    for g in groups.values():
        g["seconds"] = statistics.median(g["rounds"]) if g["rounds"] else None
        g["commit"] = " ".join(g.pop("commits"))
        rows.append(g)
    return rows


def sgemm_peak(threads: int, size: int = 2048, repeats: int = 3) -> dict:
    """The machine's practical direct peak: GFLOP/s of numpy float32 ``size``-square matrix
    products at ``threads`` BLAS threads, measured in a fresh process (best of ``repeats``),
    and the OpenBLAS kernels that ran them (:func:`openblas_kernels`).

    Parameters
    ----------
    threads : int
    size : int
    repeats : int

    Returns
    -------
    dict
        ``gflops``: ``2 size^3 / t / 1e9`` for the fastest of the timed products;
        ``openblas``: the kernels.
    """
    code = ("import time, numpy as np\n"
            "from layerbench.runtimes import openblas_kernels\n"
            f"a = np.random.default_rng(0).standard_normal(({size}, {size}), np.float32)\n"
            "a @ a\nbest = 1e9\n"
            f"for _ in range({repeats}):\n"
            "    t = time.perf_counter(); a @ a; best = min(best, time.perf_counter() - t)\n"
            f"print(2 * {size}**3 / best / 1e9, openblas_kernels())\n")
    n = str(threads)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, OMP_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n, MKL_NUM_THREADS=n)
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, check=True, cwd=root)
    gflops, kernels = out.stdout.split()
    return {"gflops": float(gflops), "openblas": kernels}


#: Vector instruction sets, widest first, as /proc/cpuinfo flags and as the tables name them.
SIMD = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("avx", "AVX"), ("sse4_2", "SSE4.2"),
        ("asimd", "NEON"))


def machine() -> dict:
    """The machine a comparison ran on: CPU (with its family, model and widest vector
    instructions, since a virtual machine's model name, "AMD EPYC", says neither the
    generation nor AVX-512), cores, load and Python.

    Returns
    -------
    dict
        ``cpu``, ``family``, ``model`` (None where not x86), ``simd`` (e.g. ``"AVX-512"``,
        None where unknown), ``cores``, ``load1``, ``python``.
    """
    info: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                k, _, v = line.partition(":")
                if not line.strip():
                    break  # the first processor is enough
                info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    flags = set((info.get("flags") or info.get("Features") or "").split())
    return {"cpu": info.get("model name") or platform.processor() or platform.machine(),
            "family": int(info["cpu family"]) if "cpu family" in info else None,
            "model": int(info["model"]) if info.get("model", "").isdigit() else None,
            "simd": next((name for flag, name in SIMD if flag in flags), None),
            "cores": os.cpu_count(), "load1": os.getloadavg()[0],
            "python": platform.python_version()}


def cpu_label(m: dict) -> str:
    """The CPU of a :func:`machine` record with what tells it apart, e.g. ``AMD EPYC (family
    25 model 1, AVX2)``.

    Parameters
    ----------
    m : dict

    Returns
    -------
    str
    """
    ids = [f"family {m['family']}" if m.get("family") is not None else None,
           f"model {m['model']}" if m.get("model") is not None else None]
    detail = ", ".join(c for c in (" ".join(c for c in ids if c), m.get("simd")) if c)
    return f"{m['cpu']}" + (f" ({detail})" if detail else "")


def machine_line(m: dict) -> str:
    """One line naming a :func:`machine` record, e.g. ``AMD EPYC (family 25 model 1,
    AVX2), 2 cores, Python 3.11.7``.

    Parameters
    ----------
    m : dict

    Returns
    -------
    str
    """
    return f"{cpu_label(m)}, {m['cores']} cores, Python {m['python']}"


#: What must agree for two machines' rounds to share a median (a field a record lacks,
#: written before it was recorded, is not compared).
MACHINE_IDENTITY = ("cpu", "family", "model", "simd", "cores")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--worker":
        print(json.dumps(worker(json.loads(sys.argv[2]))))
    elif len(sys.argv) == 3 and sys.argv[1] == "--prepare":
        _prepare(json.loads(sys.argv[2]))
    else:
        sys.exit("usage: python -m layerbench.runtimes --worker|--prepare TASK_JSON")
