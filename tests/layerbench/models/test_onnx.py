"""ONNX export: ONNX Runtime runs the exported graph of every shipped model to our output
within the model budget, and to the same uint8 image up to one level. ONNX import: a
PyTorch EDSR exported by ``torch.onnx.export`` runs on every backend as in ONNX Runtime,
our export comes back with bitwise the same weights, an unsupported operator is named."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest

from backends import specs
from backends.errors import SpecError
from backends.network import Network
from backends.registry import available_backends
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


# -- import ---------------------------------------------------------------------------------

def _torch_edsr_onnx(path):
    """An independent PyTorch EDSR (EDSR-PyTorch's module tree, data/make_pt_fixture.py)
    exported by ``torch.onnx.export``; returns the path."""
    import importlib.util

    torch = pytest.importorskip("torch", reason="torch.onnx.export writes the graph "
                                "(extra `torch`)")
    spec = importlib.util.spec_from_file_location(
        "make_pt_fixture", os.path.join(os.path.dirname(__file__), "data",
                                        "make_pt_fixture.py"))
    mk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mk)
    torch.manual_seed(0)
    model = mk.EDSR().eval()
    for p in model.parameters():  # spread the weights so that a wrong layout shows
        if p.requires_grad:
            p.data.uniform_(-0.3, 0.3)
    # the TorchScript exporter: the torch.export-based one needs onnxscript, which no extra
    # installs; it warns that it is the legacy route
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(model, (torch.rand(1, 3, 7, 9) * 255,), str(path), dynamo=False,
                          input_names=["input"], output_names=["output"],
                          dynamic_axes={"input": {0: "N", 2: "H", 3: "W"}})
    return path


@pytest.fixture(scope="module")
def torch_onnx(tmp_path_factory):
    return _torch_edsr_onnx(tmp_path_factory.mktemp("onnx") / "edsr_torch.onnx")


@pytest.mark.parametrize("backend", [b for b in available_backends() if b != "tensorflow"])
def test_import_of_torch_export_equals_onnxruntime(torch_onnx, backend, model_close):
    from layerbench.onnx_import import from_onnx

    model = from_onnx(torch_onnx, backend=backend)
    assert model.scale == 2 and model.config["layout"] == "NCHW"
    x = np.random.default_rng(5).uniform(0, 255, (2, 7, 9, 3)).astype(np.float32)
    theirs = _session(onnx.load(str(torch_onnx))).run(
        None, {"input": x.transpose(0, 3, 1, 2)})[0].transpose(0, 2, 3, 1)
    model_close(model.predict(x), theirs, model=model, dtype=np.float32, against="runtime")


def test_import_round_trips_our_export_bitwise_in_weights(model_close):
    from layerbench.onnx_import import from_onnx

    model = models.pretrained("wdsr_a_small_x4", backend="numpy")
    back = from_onnx(model.to_onnx())
    assert back.config["layout"] == "NHWC" and back.scale == model.scale
    # the graph holds its constants in the model dtype (float32 here)
    np.testing.assert_array_equal(back.mean, model.mean.astype(np.float32))
    assert back.norm == model.norm

    def kernels(m):
        p = m.params()
        return [(p[f"{n.name}/weights"], p[f"{n.name}/bias"]) for n in m.net.nodes.values()
                if n.layer.spec.has_weights]

    ours, theirs = kernels(model), kernels(back)
    assert len(ours) == len(theirs)
    for (w0, b0), (w1, b1) in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(w1, w0)
        np.testing.assert_array_equal(b1, b0)
    x = np.random.default_rng(6).uniform(0, 255, (1, 10, 8, 3)).astype(np.float32)
    model_close(back.predict(x), model.predict(x), model=model, dtype=np.float32)


def test_import_names_an_unsupported_operator_and_its_node():
    from onnx import TensorProto, helper, numpy_helper

    from layerbench.onnx_import import OnnxImportError, from_onnx

    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["c"], name="head", pads=[1, 1, 1, 1]),
         helper.make_node("PRelu", ["c", "slope"], ["output"], name="act_prelu")], "g",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 4, 8, 8])],
        initializer=[numpy_helper.from_array(np.ones((4, 3, 3, 3), np.float32), "w"),
                     numpy_helper.from_array(np.ones((4, 1, 1), np.float32), "slope")])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    with pytest.raises(OnnxImportError, match=r"'act_prelu' \(op PRelu\)"):
        from_onnx(proto)


def test_import_onnx_command(torch_onnx):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = subprocess.run([sys.executable, "-m", "layerbench", "import-onnx", str(torch_onnx),
                          "--backends", "numpy", "--size", "16x12", "--repeats", "1"],
                         capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "NCHW graph" in run.stdout and "| numpy | " in run.stdout
    assert "OVER" not in run.stdout
