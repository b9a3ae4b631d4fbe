"""ONNX export: ONNX Runtime runs the exported graph of every shipped model to our output
within the model budget, and to the same uint8 image up to one level."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from backends import specs
from backends.errors import SpecError
from backends.network import Network
from layerbench import models
from layerbench.onnx_export import OPSET, network_to_onnx

ort = pytest.importorskip("onnxruntime", reason="ONNX Runtime runs the exported graphs "
                          "(extra `onnx`)")
onnx = pytest.importorskip("onnx", reason="the export writes ONNX graphs (extra `onnx`)")


def _session(proto):
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("name", models.pretrained_names())
def test_export_runs_in_onnxruntime_as_ours(name, model_close, tmp_path):
    model = models.pretrained(name, backend="numpy")
    path = tmp_path / f"{name}.onnx"
    model.to_onnx(path)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == OPSET
    session = _session(proto)
    x = np.random.default_rng(1).uniform(0, 255, (1, 13, 9, 3)).astype(np.float32)
    model_close(session.run(None, {"input": x})[0], model.predict(x), model=model,
                dtype=np.float32, against="runtime")
    image = np.random.default_rng(2).integers(0, 256, (11, 14, 3), dtype=np.uint8)
    theirs = session.run(None, {"input": image[None].astype(np.float32)})[0][0]
    theirs = np.clip(np.rint(theirs), 0, 255).astype(np.uint8)
    ours = model.super_resolve(image)
    assert theirs.shape == ours.shape
    assert np.max(np.abs(theirs.astype(int) - ours.astype(int))) <= 1


def test_export_of_a_network_with_pools_and_activations():
    """Layers beyond the SR models: strided valid convolution with fused ReLU, pools with
    'same' padding, every activation with an ONNX operator, a weighted shortcut and a CRD
    pixel shuffle."""
    net = Network((1, 12, 10, 3), seed=3)
    net.add("c1", specs.Conv2D(filters=8, kernel=3, stride=2, padding="valid",
                               activation="relu"))
    net.add("mp", specs.MaxPool2D(size=3, stride=1, padding="same"))
    net.add("ap", specs.AvgPool2D(size=2, stride=1, padding="same"), inputs=["c1"])
    net.add("sum", specs.Shortcut(alpha=0.5, beta=2.0), inputs=["mp", "ap"])
    for kind in ("logistic", "tanh", "elu", "leaky", "selu", "softplus", "softsign", "linear"):
        net.add(kind, specs.Activation(kind=kind))
    net.add("up", specs.PixelShuffle(scale=2, order="crd"))
    x = np.random.default_rng(4).standard_normal((2, 12, 10, 3)).astype(np.float32)
    theirs = _session(network_to_onnx(net)).run(None, {"input": x})[0]
    np.testing.assert_allclose(theirs, net.predict(x), rtol=0, atol=1e-5)


def test_export_refuses_a_layer_without_onnx_op():
    net = Network((1, 4, 4, 3))
    net.add("act", specs.Activation(kind="symm_elliot"))
    with pytest.raises(SpecError, match="'act'.*symm_elliot"):
        network_to_onnx(net)


def test_export_command(tmp_path):
    out = tmp_path / "m.onnx"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run([sys.executable, "-m", "layerbench", "export", "edsr_small_x2",
                          "--onnx", str(out)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert out.is_file() and f"opset {OPSET}" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "layerbench", "export", "no_such_model",
                          "--onnx", str(out)], capture_output=True, text=True, env=env,
                         timeout=300)
    assert bad.returncode == 2 and "no_such_model" in bad.stderr
