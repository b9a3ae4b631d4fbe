"""Forward and backward time of every layer, per backend and thread count.

- :class:`Layers`: every layer family on a small shape (``SMALL``; the catalogue's presets
  cover only conv, pooling and pixel shuffle, so the other families get shapes here);
- :class:`ThesisLayers`: the thesis' max-pool and pixel-shuffle timing shapes;
- :class:`Conv`: the convolution presets (small, EDSR/WDSR bodies, thesis 16x512x512x3) with
  the algorithm (im2col, Winograd F(2x2) and F(4x4), auto) as a parameter;
  :class:`ConvBackward` their backward; :class:`ConvAutoChoice` what ``auto`` chose.

Backends: every kernel backend and ``tf_graph``, the peer the report divides by: the layer's
``tf.nn`` ops in graph mode (``bench/graph_peer.py``). The ``tensorflow`` backend (the same
ops eagerly, NumPy in and out) is the tests' oracle, timed for the record.

Parameters are the same in tiny mode (``LAYERBENCH_BENCH_TINY=1``); only shapes shrink.
"""

from __future__ import annotations

from . import _common as c

SMALL_SHAPE, TINY_SHAPE = (8, 64, 64, 32), (1, 8, 8, 4)


def _small_specs():
    from backends import specs

    return {
        "maxpool2x2": specs.MaxPool2D(size=2, stride=2, padding="valid"),
        "avgpool2x2": specs.AvgPool2D(size=2, stride=2, padding="valid"),
        "shortcut_edsr": specs.Shortcut(alpha=0.1, beta=1.0),
        "pixelshuffle_r2": specs.PixelShuffle(scale=2),
        "batchnorm_train": specs.BatchNorm(),
        "act_relu": specs.Activation(kind="relu"),
        "act_logistic": specs.Activation(kind="logistic"),
        "connected_256": specs.Connected(units=256),
        "upsample_r2": specs.Upsample(scale=2),
        "loss_mse": specs.Loss(kind="mse"),
    }


# One configuration per layer family (conv has its own classes): each combination is a
# process of its own under asv, so the list is kept to what a reader compares.
SMALL = (
    "maxpool2x2", "avgpool2x2", "shortcut_edsr", "pixelshuffle_r2", "batchnorm_train",
    "act_relu", "act_logistic", "connected_256", "upsample_r2", "loss_mse",
)


class _LayerTiming(c.Scoped):
    """setup: build the layer on the backend with the thread count, run forward once.

    The backend ``tf_graph`` (:data:`bench._common.LAYER_PEER`) is the peer the report
    divides by: the layer as graph-mode TensorFlow ops (:mod:`bench.graph_peer`), its
    inputs converted to tensors here, outside the timing, with the ``tensorflow``
    backend's thread pools. The ``tensorflow`` backend itself (eager, NumPy in and out) is
    the tests' oracle, timed for the record.
    """

    params_backend_threads = ((*c.BACKENDS, c.LAYER_PEER), c.THREADS)

    def _build(self, spec, shape, backend, threads, training=False, backward=True):
        import backends
        from backends.errors import NotSupportedError

        peer = backend == c.LAYER_PEER
        self.scope = c.ThreadScope("tensorflow" if peer else backend, threads)
        self.training = training
        self.x = c.random(shape)
        try:
            if peer:
                from .graph_peer import GraphPeer

                self.layer = GraphPeer(spec, shape)
                self.x = self.layer.tensor(self.x)
            if spec.is_loss:
                self.target = c.random(shape, seed=1)
                if peer:
                    self.loss, self.target = self.layer, self.layer.tensor(self.target)
                else:
                    from backends.losses import LossFunction

                    self.loss = LossFunction(spec, backend=backend)
                self.layer = None
                self.forward()
                return
            if not peer:
                self.layer = backends.build(spec, input_shape=shape, backend=backend)
            self.x2 = c.random(shape, seed=2) if spec.n_inputs == 2 else None
            if peer and self.x2 is not None:
                self.x2 = self.layer.tensor(self.x2)
            y = self.forward()  # compiles (Numba), starts the runtime (TF), warms caches
            self.dy = c.random(tuple(y.shape), seed=3)
            if peer:
                self.dy = self.layer.tensor(self.dy)
            if backward:
                self.backward()
        except NotSupportedError as err:
            self.scope.close()
            c.skip("unsupported", str(err))

    def forward(self):
        if self.layer is None:
            return self.loss.forward(self.x, self.target)
        if self.x2 is not None:
            return self.layer.forward(self.x, self.x2, training=self.training)
        return self.layer.forward(self.x, training=self.training)

    def backward(self):
        if self.layer is None:
            return self.loss.backward()
        return self.layer.backward(self.dy)


class Layers(_LayerTiming):
    """Every layer family on ``SMALL_SHAPE`` (8x64x64x32; dense: 32x8x8x64) float32."""

    params = ((SMALL,) + _LayerTiming.params_backend_threads)
    param_names = ("layer", "backend", "threads")
    rounds = 1
    repeat = (3, 10, 5.0)
    warmup_time = 0.2  # setup already made the first (compiling, allocating) call
    timeout = 120

    def setup(self, name, backend, threads):
        shape = TINY_SHAPE if c.tiny() else SMALL_SHAPE
        spec = _small_specs()[name]
        if name == "pixelshuffle_r2" and c.tiny():
            shape = (1, 8, 8, 8)  # the tiny shape needs channels divisible by r^2 = 4
        if name == "connected_256":  # a classifier head sees pooled features, not 64x64 maps
            shape = (1, 2, 2, 4) if c.tiny() else (32, 8, 8, 64)
        self._build(spec, shape, backend, threads, training=name == "batchnorm_train")

    def time_forward(self, *params):
        self.forward()

    def time_backward(self, *params):
        self.backward()


THESIS = ("thesis_maxpool3", "thesis_maxpool30", "thesis_shuffle6_b2")


class ThesisLayers(_LayerTiming):
    """The thesis' max-pool 3x3 / 30x30 (16x512x512x3) and pixel shuffle x6 timing shapes.

    Pixel shuffle runs at batch 2 instead of 16 (``thesis_shuffle6_b2``): 16x512x512x108
    float32 is 1.8 GB each way, several copies of which do not fit next to other work.
    """

    params = ((THESIS,) + _LayerTiming.params_backend_threads)
    param_names = ("layer", "backend", "threads")
    rounds = 1
    number = 1
    repeat = (2, 5, 20.0)
    warmup_time = 0.0
    timeout = 300

    def setup(self, name, backend, threads):
        case = c.preset(name)
        self._build(case.spec, case.input_shape, backend, threads)

    def time_forward(self, *params):
        self.forward()

    def time_backward(self, *params):
        self.backward()


CONV = ("edsr_small", "wdsr_expand", "wdsr_reduce", "edsr_body", "thesis_conv_s1",
        "thesis_conv_s2")
# im2col (the GEMM path), Winograd F(2x2,3x3) and F(4x4,3x3), and ``auto``: the fastest of
# those the backend offers for the shape and thread count (backends/autotune.py), chosen in
# ``setup`` and then timed in its steady state (see ``bench/_common.py`` for its cache).
ALGOS = ("im2col", "winograd", "winograd4", "auto")
WINOGRAD = {"winograd": "F(2x2,3x3)", "winograd4": "F(4x4,3x3)"}


def conv_spec(name: str, algo: str, backend: str):
    """The preset ``name``'s spec with ``algo``, or a skip when the combination does not
    exist: Winograd on a kernel that is not 3x3 stride 1; ``auto`` where it has a single
    candidate (such a kernel, or a backend whose ``conv.AUTO_ALGOS`` is im2col only), which
    runs im2col and is the im2col row's time. A backend without a Winograd kernel (jax)
    raises ``NotSupportedError`` at build: ``_build`` turns it into the skip. The peer
    (``tf_graph``) runs TensorFlow's one ``Conv2D`` op for every algorithm (TensorFlow has no
    Winograd entry point), so each algorithm's row has a peer to divide by."""
    import dataclasses

    case = c.preset(name)
    spec = case.spec
    if algo in WINOGRAD and not spec.winograd_eligible():
        c.skip("unsupported", f"Winograd {WINOGRAD[algo]} needs a 3x3 stride-1 kernel; "
               f"{name} has kernel {spec.kernel} stride {spec.stride}")
    spec = dataclasses.replace(spec, algo=algo)
    if algo == "auto":
        candidates = spec.algos()
        if backend != c.LAYER_PEER and len(candidates) > 1:
            candidates = _auto_candidates(spec, backend)
        if len(candidates) == 1:
            c.skip("unsupported", f"algo='auto' has one candidate ({candidates[0]}) for "
                   f"{name} (kernel {spec.kernel} stride {spec.stride}) on {backend!r}: it "
                   f"runs {candidates[0]}, timed in that algorithm's row")
    return case, spec


def _auto_candidates(spec, backend: str) -> tuple[str, ...]:
    """What ``auto`` chooses among on ``backend`` (:func:`backends.autotune.candidates`, as
    the layer narrows them)."""
    import backends
    from backends import autotune
    from backends.backend import Kernels
    from backends.errors import BackendUnavailableError

    try:
        be = backends.get_backend(backend)
    except BackendUnavailableError as err:
        c.skip("unavailable", str(err))
    return autotune.candidates(spec, Kernels(be, "conv"))


class Conv(_LayerTiming):
    """Convolution presets, forward, with the algorithm as a parameter (:data:`ALGOS`).

    ``edsr_body`` is one body conv of EDSR x2 on the 510x339 image (204 GFLOP forward), so
    samples are few and long. ``auto``'s choice is made by the forward in ``setup`` (timing
    the candidates once per shape and thread count, or reading the benchmarks' cache file);
    the timed calls run the chosen algorithm only. :class:`ConvAutoChoice` records which.
    """

    params = ((CONV, ALGOS) + _LayerTiming.params_backend_threads)
    param_names = ("case", "algo", "backend", "threads")
    rounds = 1
    number = 1
    repeat = (1, 3, 20.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self, name, algo, backend, threads):
        case, spec = conv_spec(name, algo, backend)
        with c.autotune_cache():
            self._build(spec, case.input_shape, backend, threads, backward=False)

    def time_forward(self, *params):
        self.forward()


class ConvAutoChoice(_LayerTiming):
    """The algorithm ``algo="auto"`` runs in :class:`Conv` (same preset, backend, threads and
    cache file, so the same choice), as its index in ``Conv2D(algo="auto").algos()`` of a 3x3
    stride-1 kernel: 0 im2col, 1 winograd (F(2x2,3x3)), 2 winograd4 (F(4x4,3x3)). Skipped
    where ``auto`` has one candidate (as in :class:`Conv`); the peer has no ``auto``."""

    params = (CONV, c.BACKENDS, c.THREADS)
    param_names = ("case", "backend", "threads")
    unit = "index: 0 im2col, 1 winograd, 2 winograd4"
    rounds = 1
    timeout = 600

    def setup(self, name, backend, threads):
        case, spec = conv_spec(name, "auto", backend)
        with c.autotune_cache():
            self._build(spec, case.input_shape, backend, threads, backward=False)
        self.choices = spec.algos()

    def track_choice(self, *params):
        return self.choices.index(self.layer.algo_for(self.x))


class ConvBackward(_LayerTiming):
    """Convolution presets, backward (dx and dW; Winograd is a forward algorithm only)."""

    params = ((CONV,) + _LayerTiming.params_backend_threads)
    param_names = ("case", "backend", "threads")
    rounds = 1
    number = 1
    repeat = (1, 2, 20.0)
    warmup_time = 0.0
    timeout = 600

    def setup(self, name, backend, threads):
        case = c.preset(name)
        self._build(case.spec, case.input_shape, backend, threads)

    def time_backward(self, *params):
        self.backward()
