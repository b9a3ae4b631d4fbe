"""Peak memory (max RSS of the benchmark process) of the heavy forward passes.

asv's ``peakmem_`` is the process' high-water mark, so it includes the interpreter and the
backend's own libraries (TensorFlow alone adds some hundreds of MB): compare a backend with
itself over time, and backends with each other only with that offset in mind.
"""

from __future__ import annotations

from . import _common as c
from .models import PEER, build, image

TARGETS = ("conv:thesis_conv_s1", "conv:edsr_body", "model:edsr_baseline_x2@510x339",
           "model:wdsr_a_x4@510x339", "model:edsr_x2@510x339")


class PeakMemory(c.Scoped):
    """Forward of a conv preset or ``super_resolve`` of a model (with the default memory
    budget; the ``keras`` peer for models only), one thread."""

    params = (TARGETS, (*c.BACKENDS, PEER))
    param_names = ("target", "backend")
    rounds = 1
    timeout = 600

    def setup(self, target, backend):
        import backends
        from backends.errors import NotSupportedError

        kind, name = target.split(":")
        if kind == "conv" and backend == PEER:
            c.skip("unsupported", "the keras peer runs whole models only")
        self.scope = c.ThreadScope("tensorflow" if backend == PEER else backend, 1)
        try:
            if kind == "conv":
                case = c.preset(name)
                layer = backends.build(case.spec, input_shape=case.input_shape, backend=backend)
                x = c.random(case.input_shape)
                self.run = lambda: layer.forward(x)
            else:
                model_name, size = name.split("@")
                model, lr = build(model_name, backend), image(size)
                self.run = lambda: model.super_resolve(lr)
        except NotSupportedError as err:
            self.scope.close()
            c.skip("unsupported", str(err))


    def peakmem_forward(self, *params):
        self.run()
