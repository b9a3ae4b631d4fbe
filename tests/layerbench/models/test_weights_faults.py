"""Weight files that are missing, truncated, emptied, garbled or foreign, in every format, and
loads that fail half-way: one named error each, and the model unchanged (all or nothing).

The valid files are real: our ``.npz`` (``save_weights``), the EDSR-PyTorch ``.pt`` fixture
and a Keras-2-layout ``.h5`` written with h5py (``layer_names`` / ``weight_names``, as
``model.save_weights`` of Keras 2 writes it). Damage is seeded, so every run tries the same
files; the Hypothesis tests are derandomised like the rest of the suite.
"""

from __future__ import annotations

import os
import shutil

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backends.errors import NonFiniteError, WeightsError
from layerbench import models

FORMATS = (".npz", ".pt", ".h5")
CUTS = (0.0, 0.01, 0.1, 0.5, 0.9, 0.999)  # fraction of the file kept; 0 is the empty file
GARBLES = 8  # seeded garbled copies per format


def tiny_edsr(**kw):
    return models.edsr(2, 2, 8, 0.1, **kw)  # the configuration of data/edsr_tiny_x2.pt


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory, data_dir, keras_h5):
    """``{suffix: path}`` of a valid file per format for :func:`tiny_edsr`."""
    d = tmp_path_factory.mktemp("weights")
    source = tiny_edsr(seed=7)
    out = {".npz": d / "w.npz", ".pt": d / "w.pt", ".h5": d / "w.h5"}
    source.save_weights(out[".npz"])
    shutil.copy(os.path.join(data_dir, "edsr_tiny_x2.pt"), out[".pt"])
    keras_h5(out[".h5"], source)
    return out


def _snapshot(model) -> dict[str, np.ndarray]:
    return {k: np.array(v) for k, v in {**model.params(), **model.net.state()}.items()}


def _assert_unchanged(model, before) -> None:
    after = _snapshot(model)
    assert after.keys() == before.keys()
    changed = [k for k in before if not np.array_equal(after[k], before[k])]
    assert not changed, f"a failed load changed {len(changed)} parameters: {changed[:4]}"


def _load_or_named_error(path) -> str:
    """Load ``path``; return "loaded" or "error" (a WeightsError naming the file, the
    model unchanged); anything else fails the test."""
    model = tiny_edsr()
    before = _snapshot(model)
    try:
        model.load_weights(path)
    except WeightsError as err:
        assert str(path) in str(err), f"the error does not name the file: {err}"
        _assert_unchanged(model, before)
        return "error"
    assert all(np.all(np.isfinite(v)) for v in model.params().values())
    return "loaded"


@pytest.mark.parametrize("suffix", FORMATS)
def test_valid_files_load(valid_files, suffix):
    assert _load_or_named_error(valid_files[suffix]) == "loaded"


@pytest.mark.parametrize("suffix", FORMATS)
def test_missing_file_is_file_not_found_naming_it(tmp_path, suffix):
    path = tmp_path / f"absent{suffix}"
    with pytest.raises(FileNotFoundError, match="not found") as info:
        tiny_edsr().load_weights(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("suffix", FORMATS)
def test_truncated_or_empty_file_is_a_weights_error(valid_files, tmp_path, suffix, cut):
    data = valid_files[suffix].read_bytes()
    path = tmp_path / f"cut{suffix}"
    path.write_bytes(data[: int(len(data) * cut)])
    assert _load_or_named_error(path) == "error"


@pytest.mark.parametrize("seed", range(GARBLES))
@pytest.mark.parametrize("suffix", FORMATS)
def test_garbled_file_is_a_weights_error_or_loads_whole(valid_files, tmp_path, suffix, seed):
    """16 seeded bytes overwritten. Zip members (.npz, .pt) carry CRC-32s, so damage anywhere
    in the data is caught; HDF5 stores raw arrays without checksums, so a garbled weight
    there can load (as other finite numbers) but never half-load or crash."""
    data = bytearray(valid_files[suffix].read_bytes())
    rng = np.random.default_rng(seed)
    for i in rng.choice(len(data), 16, replace=False):
        data[i] = (data[i] + 1 + int(rng.integers(255))) % 256
    path = tmp_path / f"garbled{suffix}"
    path.write_bytes(bytes(data))
    outcome = _load_or_named_error(path)
    if suffix != ".h5":
        assert outcome == "error"


@pytest.mark.parametrize("suffix", FORMATS)
def test_foreign_file_is_a_weights_error(valid_files, tmp_path, suffix):
    """A file of another format under this suffix."""
    other = {".npz": ".h5", ".pt": ".npz", ".h5": ".pt"}[suffix]
    path = tmp_path / f"foreign{suffix}"
    shutil.copy(valid_files[other], path)
    assert _load_or_named_error(path) == "error"


@given(suffix=st.sampled_from(FORMATS), blob=st.binary(max_size=2048),
       keep=st.floats(0, 1))
def test_random_bytes_only_named_errors(valid_files, tmp_path_factory, suffix, blob, keep):
    """Random bytes, alone or after a prefix of a valid file: a WeightsError or a whole load."""
    data = valid_files[suffix].read_bytes()
    path = tmp_path_factory.mktemp("fuzz") / f"random{suffix}"
    path.write_bytes(data[: int(len(data) * keep)] + blob)
    _load_or_named_error(path)


# -- all or nothing -----------------------------------------------------------------------

def _bad_last(model, how: str) -> dict[str, np.ndarray]:
    p = {k: np.array(v) + 1.0 for k, v in model.params().items()}
    last = list(p)[-1]
    if how == "shape":
        p[last] = np.zeros(p[last].shape + (1,))
    elif how == "nan":
        p[last] = np.full(p[last].shape, np.nan)
    elif how == "unknown":
        p["nowhere/weights"] = np.zeros(1)
    else:  # missing
        del p[last]
    return p


@pytest.mark.parametrize("how", ["shape", "nan", "unknown", "missing"])
def test_network_and_model_load_params_all_or_nothing(how):
    model = tiny_edsr()
    before = _snapshot(model)
    bad = _bad_last(model, how)
    error = NonFiniteError if how == "nan" else WeightsError
    for target in (model.net, model):
        with pytest.raises(error):
            target.load_params(bad)
        _assert_unchanged(model, before)
    # the same values without the fault load completely
    good = {k: np.array(v) + 1.0 for k, v in model.params().items()}
    model.load_params(good)
    assert all(np.array_equal(model.params()[k], good[k].astype(model.dtype)) for k in good)


def test_load_weights_with_one_bad_layer_leaves_the_model_unchanged(tmp_path):
    """A .npz whose last parameter has the wrong shape: nothing of it is assigned."""
    source = tiny_edsr(seed=3)
    params = source.params()
    last = list(params)[-1]
    path = tmp_path / "bad_last.npz"
    source.save_weights(path)
    with np.load(path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays[last] = np.zeros(arrays[last].shape + (2,), arrays[last].dtype)
    np.savez(path, **arrays)
    model = tiny_edsr()
    before = _snapshot(model)
    with pytest.raises(WeightsError, match=last.split("/")[0]):
        model.load_weights(path)
    _assert_unchanged(model, before)
