"""Weight files: EDSR-PyTorch .pt (read without torch), our .npz, and their error messages."""

import os
import pickle
import zipfile

import numpy as np
import pytest

from backends.errors import WeightsError
from backends.testing.fresh import fresh_python
from layerbench import models
from layerbench.models import weights_npz, weights_pt


def tiny_edsr(**kw):
    # the configuration of data/edsr_tiny_x2.pt (see data/make_pt_fixture.py)
    return models.edsr(2, 2, 8, 0.1, **kw)


def test_pt_import_matches_pytorch_output(data_dir, model_close):
    model = tiny_edsr(dtype=np.float64)
    model.load_weights(os.path.join(data_dir, "edsr_tiny_x2.pt"))
    with np.load(os.path.join(data_dir, "edsr_tiny_x2_io.npz")) as f:
        x, want = f["x"], f["y"]
    model_close(model.predict(x), want, model=model, dtype=np.float64)


def test_pt_import_does_not_import_torch(data_dir):
    # in a fresh interpreter: another test in this worker may have imported torch
    proc = fresh_python(f"""
        import sys
        from layerbench.models import weights_pt
        weights_pt.load_state_dict({os.path.join(data_dir, "edsr_tiny_x2.pt")!r})
        print("torch" in sys.modules)
    """)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == "False", "reading a .pt file must not import torch"


def test_pt_state_dict_keys_and_layout(data_dir):
    state = weights_pt.load_state_dict(os.path.join(data_dir, "edsr_tiny_x2.pt"))
    assert state["head.0.weight"].shape == (8, 3, 3, 3)  # OIHW as PyTorch stores it
    assert state["tail.0.0.weight"].shape == (32, 8, 3, 3)
    assert {"sub_mean.weight", "add_mean.bias", "body.2.weight"} <= set(state)


def test_crd_to_dcr_permutation():
    # channel c of output pixel (i, j): CRD index c r^2 + i r + j, DCR index (i r + j) C + c
    r, c_out = 2, 3
    crd = np.arange(c_out * r * r)
    dcr = crd[weights_pt.crd_to_dcr(crd.size, r)]
    for c in range(c_out):
        for i in range(r):
            for j in range(r):
                assert dcr[(i * r + j) * c_out + c] == c * r * r + i * r + j


@pytest.mark.parametrize(("config", "match"), [
    ((2, 3, 8, 0.1), r"body\.2\.weight"),  # one block more: body.2 is a block, not body_conv
    ((2, 2, 16, 0.1), r"layer 'head' parameter 'weights': expected shape \(3, 3, 3, 16\), "
                      r"found \(3, 3, 3, 8\)"),
    ((4, 2, 8, 0.1), r"layer 'up1_conv'.*expected shape"),
])
def test_pt_mismatch_names_layer_and_shapes(data_dir, config, match):
    with pytest.raises(WeightsError, match=match):
        models.edsr(*config).load_weights(os.path.join(data_dir, "edsr_tiny_x2.pt"))


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo should-not-run",))


def test_pt_reader_refuses_arbitrary_globals(tmp_path):
    path = tmp_path / "evil.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("evil/data.pkl", pickle.dumps({"head.0.weight": _Evil()}, protocol=2))
    with pytest.raises(WeightsError, match="refusing to load global"):
        tiny_edsr().load_weights(path)


def test_pt_rejects_non_zip(tmp_path):
    path = tmp_path / "legacy.pt"
    path.write_bytes(pickle.dumps({}))
    with pytest.raises(WeightsError, match="zip archive"):
        tiny_edsr().load_weights(path)


def test_npz_round_trip(tmp_path, dtype):
    a = models.wdsr_b(3, 2, 10, 3, dtype=dtype, seed=1)
    b = models.wdsr_b(3, 2, 10, 3, dtype=dtype, seed=2)
    path = tmp_path / "w.npz"
    a.save_weights(path, note="round trip")
    header = weights_npz.read_header(path)
    assert header["arch"] == "wdsr_b" and header["config"] == a.config
    assert header["note"] == "round trip"
    b.load_weights(path)
    for key, value in a.params().items():
        np.testing.assert_array_equal(b.params()[key], value)  # a copy: bit for bit
    with zipfile.ZipFile(path) as z:  # readable without pickle
        assert all(not n.endswith(".pkl") for n in z.namelist())


def test_npz_mismatch(tmp_path):
    path = tmp_path / "w.npz"
    models.edsr(2, 2, 8, 1.0).save_weights(path)
    with pytest.raises(WeightsError, match="config 'n_feats'"):
        models.edsr(2, 2, 16, 1.0).load_weights(path)
    with pytest.raises(WeightsError, match="architecture"):
        models.wdsr_a(2, 2, 8, 2).load_weights(path)
    # a file whose header agrees but whose arrays do not: the shape check names the layer
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["tail/weights"] = arrays["tail/weights"][:, :, :4]
    np.savez(path, **arrays)
    with pytest.raises(WeightsError, match=r"layer 'tail' parameter 'weights': expected shape "
                                           r"\(3, 3, 8, 3\), found \(3, 3, 4, 3\)"):
        models.edsr(2, 2, 8, 1.0).load_weights(path)


def test_unknown_suffix(tmp_path):
    with pytest.raises(WeightsError, match="suffix"):
        tiny_edsr().load_weights(tmp_path / "w.onnx")
