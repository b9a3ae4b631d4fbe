"""The graph-mode layer peer (``bench/graph_peer.py``) computes what the oracle computes.

Every catalogue case the peer covers, float32, seed 0: output, input gradients and parameter
gradients of :class:`~bench.graph_peer.GraphPeer` against the ``tensorflow`` backend (the
eager oracle) within the central tolerance table (``backends.testing.compare``); the cases
it does not cover raise ``NotSupportedError`` naming what it covers, never a wrong number.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorflow")

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from backends import specs  # noqa: E402
from backends.errors import NotSupportedError, StateError  # noqa: E402
from backends.testing import CASES, compare_results, make_inputs, run_case  # noqa: E402
from bench import graph_peer  # noqa: E402

F32 = np.float32


def _covered(case) -> bool:
    spec = case.spec
    if isinstance(spec, specs.Activation):
        return spec.kind in graph_peer.ACTIVATIONS
    if isinstance(spec, (specs.MaxPool2D, specs.AvgPool2D)):
        from backends.tf_oracle._common import padding_mode

        _, _, pads = spec.geometry(case.input_shape)
        return padding_mode(case.input_shape, spec.size, spec.stride, pads) is not None
    return True


def run_peer(case, seed: int = 0) -> dict[str, np.ndarray]:
    """``run_case``'s tensors (output, input and parameter gradients) from the peer."""
    inputs = make_inputs(case, F32, seed)
    if isinstance(case.spec, specs.Loss):
        peer = graph_peer.GraphPeer(case.spec, case.input_shape, F32)
        value = peer.forward(peer.tensor(inputs["x"]), peer.tensor(inputs["target"]))
        return {"y": np.asarray(value, np.float64), "dx": peer.backward().numpy()}
    peer = graph_peer.GraphPeer(case.spec, case.input_shape, F32, params=inputs["params"])
    x = peer.tensor(inputs["x"])
    args = (x, peer.tensor(inputs["x2"])) if case.is_merge else (x,)
    y = peer.forward(*args, training=case.training)
    dx = peer.backward(peer.tensor(inputs["dy"]))
    out = {"y": y.numpy()}
    if case.is_merge:
        out["da"], out["db"] = dx[0].numpy(), dx[1].numpy()
    else:
        out["dx"] = dx.numpy()
    out.update({f"grad/{k}": g.numpy() for k, g in peer.grads().items()})
    return out


COVERED = [c for c in CASES if _covered(c)]


@pytest.mark.parametrize("case", COVERED, ids=[c.name for c in COVERED])
def test_peer_equals_the_oracle(case):
    ours = run_peer(case)
    oracle = run_case(case, "tensorflow", F32, optimizer=())
    # the oracle's extra tensors (batch-norm running statistics) are not the peer's business
    oracle = {k: v for k, v in oracle.items() if not k.startswith("state/")}
    assert set(ours) == set(oracle), (sorted(ours), sorted(oracle))
    rows = compare_results(ours, oracle, case=case, backend=graph_peer.NAME, dtype=F32,
                           against="tensorflow")
    failed = [f"{r['tensor']}: {r['detail']}" for r in rows if not r["passed"]]
    assert not failed, failed


@pytest.mark.parametrize("case", [c for c in CASES if not _covered(c)][:4],
                         ids=lambda c: c.name)
def test_uncovered_spec_says_what_is_covered(case):
    with pytest.raises(NotSupportedError, match="graph peer .*received"):
        graph_peer.GraphPeer(case.spec, case.input_shape, F32)


def test_backward_before_forward_is_a_clear_error():
    peer = graph_peer.GraphPeer(specs.Activation(kind="relu"), (1, 4, 4, 2))
    with pytest.raises(StateError, match="call forward"):
        peer.backward(np.zeros((1, 4, 4, 2), F32))


def test_traced_once():
    """The timed calls never retrace: one concrete function per direction."""
    shape = (1, 6, 6, 4)
    peer = graph_peer.GraphPeer(specs.Conv2D(filters=3), shape)
    x, dy = peer.tensor(np.ones(shape)), peer.tensor(np.ones((1, 6, 6, 3)))
    for _ in range(3):
        peer.forward(x)
        peer.backward(dy)
    assert peer._fwd.experimental_get_tracing_count() == 1
    assert peer._bwd.experimental_get_tracing_count() == 1
