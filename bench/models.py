"""Whole-model inference time: EDSR x2, EDSR-baseline x2, WDSR-A x4 per backend and threads,
beside the peers: the same model in Keras, ONNX Runtime, OpenVINO and PyTorch, each at its
best (:mod:`layerbench.runtimes`).

The input is the low-resolution uint8 image: the thesis' 510x339 timing image (the thesis:
EDSR 576.92 s, WDSR 46.35 s) and a 128x128 MRI-size slice. Weights are the seeded
initialisation: time does not depend on their values. Our backends' rows time what a user
calls: ``SRModel.super_resolve`` with its defaults (normalisation, the tile plan of the
default memory budget, banded convolutions, clipping and rounding to uint8), after one
untimed call on the same image. A peer's row times the peer's forward on the whole image
(its ``float32`` copy), then the same clipping and rounding, also after one untimed call;
each peer runs as ``layerbench compare-backends`` runs it (:func:`~layerbench.runtimes.
peer_call`: Keras in a ``tf.function`` of static signature, inter-op pool 1; ONNX
Runtime and OpenVINO on the ONNX export; PyTorch channels-last under ``inference_mode``).
asv gives every combination a fresh process, and a peer's process never builds our model nor
starts our backends: the model is converted for the peer in a child process
(:func:`~layerbench.runtimes.prepare_peer`) and loaded from that file. The ``tensorflow``
backend (``tf.nn`` ops called layer by layer, eager) is the tests' oracle, timed here for the
record, not a peer.
"""

from __future__ import annotations

from . import _common as c

MODELS = ("edsr_x2", "edsr_baseline_x2", "wdsr_a_x4")
SIZES = ("510x339", "128x128")  # width x height of the LR input
PEERS = ("keras", "onnxruntime", "openvino", "torch")
PEER = "keras"  # the memory benchmark's peer (bench/memory.py: KerasPeer.super_resolve)
PEER_MODULES = {"keras": "tensorflow", "onnxruntime": "onnxruntime", "openvino": "openvino",
                "torch": "torch"}
TINY_MODEL = {"n_resblocks": 1, "n_feats": 8}
TINY_SIZE = (12, 16)  # height, width


def input_hw(size: str) -> tuple[int, int]:
    """``"510x339"`` (width x height) -> ``(339, 510)``; the tiny size in tiny mode."""
    if c.tiny():
        return TINY_SIZE
    w, h = (int(v) for v in size.split("x"))
    return h, w


def image(size: str, seed: int = 4):
    """A uint8 LR image of ``size`` (random: time and memory do not depend on content)."""
    import numpy as np

    h, w = input_hw(size)
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def build(model: str, backend: str):
    """The preset ``model`` on ``backend``, or its Keras twin for ``backend == "keras"``
    (tiny in tiny mode), warmed up on a tiny image: Numba compiles, TensorFlow starts and
    traces, here and not in the timed call."""
    import numpy as np

    from layerbench import models

    overrides = TINY_MODEL if c.tiny() else {}
    if backend == PEER:
        from layerbench.models.keras_peer import KerasPeer

        runner = KerasPeer(models.preset(model, backend="numpy", **overrides))
    else:
        runner = models.preset(model, backend=backend, **overrides)
    runner.super_resolve(np.full((8, 8, 3), 128, np.uint8))
    return runner


_PREPARED: dict[str, str] = {}
_FOLDERS: list = []


def _folder() -> str:
    """This process's folder of converted models (removed when the process ends)."""
    import tempfile

    if not _FOLDERS:
        _FOLDERS.append(tempfile.TemporaryDirectory(prefix="layerbench-peers-"))
    return _FOLDERS[0].name


def peer(model: str, peer_name: str, img, threads: int):
    """``call()`` running the peer on ``img`` (uint8 HxWx3) and returning the uint8 output:
    the model converted in a child process, loaded here, warmed up once."""
    import importlib.util

    import numpy as np

    from layerbench import runtimes

    if importlib.util.find_spec(PEER_MODULES[peer_name]) is None:
        c.skip("unavailable", f"peer {peer_name!r} needs the package "
               f"{PEER_MODULES[peer_name]!r}")
    if threads > c.cores():
        c.skip("threads", f"{threads} threads requested, {c.cores()} cores available")
    x = img[None].astype(np.float32)
    if model not in _PREPARED:  # once per process: every peer reads the same files
        _PREPARED[model] = runtimes.prepare_peer(model, TINY_MODEL if c.tiny() else {},
                                                 _folder())
    call, settings = runtimes.load_peer(peer_name, _PREPARED[model], x, threads)
    got = settings.get("intra_op", settings.get("threads", threads))
    if got != threads:  # TensorFlow started earlier in this process with other pools
        c.skip("threads", f"peer {peer_name!r} runs {got} threads, asked for {threads}")
    call()

    def run():
        return np.clip(np.rint(call()[0]), 0, 255).astype(np.uint8)

    return run


class Models(c.Scoped):
    """``super_resolve`` time of a model on one uint8 LR image (float32 models).

    EDSR x2 on 510x339 is 14 TFLOP (~1 min for Keras on 2 quiet AVX-512 cores, several for
    a slower backend): it runs once, at the largest thread count only, at both sizes;
    EDSR-baseline and WDSR-A show the thread scaling.
    """

    params = (MODELS, SIZES, (*c.BACKENDS, *PEERS), c.THREADS)
    param_names = ("model", "size", "backend", "threads")
    rounds = 1
    number = 1
    repeat = 1
    warmup_time = 0.0
    timeout = 1800

    def setup(self, model, size, backend, threads):
        from backends.errors import NotSupportedError

        if model == "edsr_x2" and threads != max(c.THREADS) and not c.tiny():
            c.skip("budget", f"EDSR x2 (14 TFLOP on 510x339, 1.3 on 128x128) is timed at "
                   f"{max(c.THREADS)} threads only; the other models show thread scaling")
        self.image = image(size)
        if backend in PEERS:
            if c.tiny() and size != SIZES[0]:
                c.skip("budget", "tiny mode gives every size the same image: a peer runs "
                       f"at {SIZES[0]} only")
            self.run = peer(model, backend, self.image, threads)
            return
        self.scope = c.ThreadScope(backend, threads)
        try:
            model = build(model, backend)
        except NotSupportedError as err:
            self.scope.close()
            c.skip("unsupported", str(err))
        # one untimed call on the timed image, as each peer gets (peer()): what depends on
        # the shape (the algorithm `auto` picks per layer, which an empty autotune cache
        # measures on the first call; Numba's specialisations; the buffer pool) is settled
        # before the timed call
        model.super_resolve(self.image)
        self.run = lambda: model.super_resolve(self.image)

    def time_super_resolve(self, *params):
        self.run()
