"""Crafted (hostile) weights files: a ``.pt`` whose tensors point outside their storages, an
``.h5`` whose datasets live in other files. Each is a named error, nothing outside the file is
read, and the model is unchanged.

The ``.pt`` files are written here in the real ``torch.save`` format (a zip archive holding
``<root>/data.pkl``, a protocol-2 pickle of ``collections.OrderedDict`` and
``torch._utils._rebuild_tensor_v2`` calls whose storages are persistent ids, and the raw
little-endian storages ``<root>/data/<key>``), opcode by opcode, so a tensor can be given any
size, stride and offset; :func:`test_writer_matches_torch` checks the writer against
``torch.load`` when PyTorch is installed. The Hypothesis tests at the end explore random
views, pickle streams and HDF5 layouts: a fixed slice here, more under ``nox -s fuzz``
(marker ``fuzz``).
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import zipfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backends.errors import WeightsError
from layerbench import models
from layerbench.models import weights_pt
from layerbench.models.presets import preset
from layerbench.models.weights_common import MAX_NDIM, MAX_TENSOR_ELEMENTS

# -- a torch.save writer for crafted files ------------------------------------------------


def _ops(value) -> bytes:
    """The pickle opcodes of a plain value (str, int, bool, tuple), without memo."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=2)
    pickler.fast = True
    pickler.dump(value)
    return buf.getvalue()[2:-1]  # without PROTO and STOP


def _global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def tensor_ops(storage: str, numel: int, offset, size, stride,
               stype: str = "FloatStorage") -> bytes:
    """``_rebuild_tensor_v2(<persistent storage>, offset, size, stride, False, OrderedDict())``
    as torch.save pickles it."""
    pid = (b"(" + _ops("storage") + _global("torch", stype) + _ops(storage) + _ops("cpu")
           + _ops(numel) + b"tQ")
    return (_global("torch._utils", "_rebuild_tensor_v2") + b"(" + pid + _ops(offset)
            + _ops(size) + _ops(stride) + _ops(False)
            + _global("collections", "OrderedDict") + b")R" + b"tR")


def state_pickle(entries: list[tuple[str, bytes]]) -> bytes:
    """``OrderedDict([(key, <tensor ops>), ...])``."""
    body = b"".join(_ops(key) + ops for key, ops in entries)
    return b"\x80\x02" + _global("collections", "OrderedDict") + b")R(" + body + b"u."


def write_pt(path, pkl: bytes, storages: dict[str, bytes], root: str = "archive") -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{root}/data.pkl", pkl)
        z.writestr(f"{root}/byteorder", "little")
        for key, raw in storages.items():
            z.writestr(f"{root}/data/{key}", raw)
        z.writestr(f"{root}/version", "3\n")


def edsr_state(model) -> dict[str, np.ndarray]:
    """``model``'s parameters as an EDSR-PyTorch state_dict (OIHW kernels, CRD shuffle order):
    the inverse of :func:`layerbench.models.weights_pt.read`."""
    params = model.params()
    state = {}
    for prefix, (node, shuffle) in weights_pt.edsr_key_map(model).items():
        for kind, ours in (("weight", "weights"), ("bias", "bias")):
            value = np.asarray(params[f"{node}/{ours}"], np.float32)
            if shuffle:
                value = value[..., np.argsort(weights_pt.crd_to_dcr(value.shape[-1], shuffle))]
            if kind == "weight":
                value = value.transpose(3, 2, 0, 1)  # HWIO -> OIHW
            state[f"{prefix}.{kind}"] = np.ascontiguousarray(value)
    return state


def write_state(path, state: dict[str, np.ndarray], override: dict | None = None) -> None:
    """A ``.pt`` of contiguous float32 tensors; ``override`` maps a key to ``(raw storage
    bytes, numel, offset, size, stride)`` of a crafted view."""
    entries, storages = [], {}
    for i, (key, value) in enumerate(state.items()):
        raw, numel, offset, size, stride = (override or {}).get(key) or (
            value.astype("<f4").tobytes(), value.size, 0, tuple(value.shape),
            tuple(s // 4 for s in value.strides))
        storages[str(i)] = raw
        entries.append((key, tensor_ops(str(i), numel, offset, size, stride)))
    write_pt(path, state_pickle(entries), storages)


def tiny_edsr(**kw):
    return models.edsr(2, 2, 8, 0.1, **kw)


def _snapshot(model):
    return {k: np.array(v) for k, v in model.params().items()}


def _refused(model, path, *words) -> str:
    """Load ``path`` into ``model``: a WeightsError naming the file and ``words``, the model
    unchanged; returns the message."""
    before = _snapshot(model)
    with pytest.raises(WeightsError) as info:
        model.load_weights(path)
    message = str(info.value)
    for word in (str(path), *words):
        assert word in message, f"{word!r} not in {message!r}"
    after = _snapshot(model)
    assert all(np.array_equal(before[k], after[k]) for k in before), "the model changed"
    return message


ONE_FLOAT = np.float32(1.5).tobytes()


# -- .pt: views inside their storages ------------------------------------------------------

def test_writer_round_trip(tmp_path):
    """The positive control: a model written by the crafted-file writer loads back equal."""
    source = tiny_edsr(seed=5)
    path = tmp_path / "w.pt"
    write_state(path, edsr_state(source))
    model = tiny_edsr()
    model.load_weights(path)
    for key, value in source.params().items():
        np.testing.assert_array_equal(model.params()[key], value, err_msg=key)


def test_writer_matches_torch(tmp_path):
    """``torch.load`` (weights only) reads the writer's file as the loader does."""
    torch = pytest.importorskip("torch", reason="checks the writer against PyTorch's reader")
    path = tmp_path / "w.pt"
    state = edsr_state(tiny_edsr(seed=2))
    state["strided"] = np.arange(24, dtype=np.float32)
    write_state(path, state, {"strided": (state["strided"].tobytes(), 24, 3, (2, 3), (9, 2))})
    ours = weights_pt.load_state_dict(path)
    theirs = torch.load(path, weights_only=True)
    assert list(ours) == list(theirs)
    for key in ours:
        np.testing.assert_array_equal(ours[key], theirs[key].numpy(), err_msg=key)
    np.testing.assert_array_equal(ours["strided"], [[3, 5, 7], [12, 14, 16]])


def test_huge_strides_on_a_one_float_storage_are_refused(tmp_path):
    """The reproduction: the head kernel is a 1-float storage viewed as (8, 3, 3, 3) with
    strides (2**30, 2**28, 2**26, 2**24) (this read far outside the file's memory)."""
    model = tiny_edsr()
    path = tmp_path / "oob.pt"
    write_state(path, edsr_state(model), {
        "head.0.weight": (ONE_FLOAT, 1, 0, (8, 3, 3, 3), (2**30, 2**28, 2**26, 2**24))})
    message = _refused(model, path, "'head.0.weight'", "size/stride/offset", "1 elements")
    assert "last element at" in message


def test_small_overrun_is_refused(tmp_path):
    """A 1-float storage backing an 8-value bias (this loaded process memory as weights)."""
    model = tiny_edsr()
    path = tmp_path / "overrun.pt"
    write_state(path, edsr_state(model), {"head.0.bias": (ONE_FLOAT, 1, 0, (8,), (1,))})
    _refused(model, path, "'head.0.bias'", "size/stride/offset", "last element at 7")


def test_storage_shorter_than_declared_is_refused(tmp_path):
    """The persistent id declares 8 elements, the member holds one."""
    model = tiny_edsr()
    path = tmp_path / "short.pt"
    write_state(path, edsr_state(model), {"head.0.bias": (ONE_FLOAT, 8, 0, (8,), (1,))})
    _refused(model, path, "storage", "32 bytes", "4 bytes")


@pytest.mark.parametrize("field, view", [
    ("storage offset", (-1, (8,), (1,))),
    ("storage offset", (1.5, (8,), (1,))),
    ("size", (0, (8, -1), (1, 1))),
    ("size", (0, [8], (1,))),
    ("stride", (0, (8,), (-1,))),
    ("stride", (0, (8,), (1, 1))),
    ("size", (0, (1,) * 17, (0,) * 17)),
    ("size", (0, (2**13, 2**13, 2), (0, 0, 0))),
])
def test_bad_view_fields_are_named(tmp_path, field, view):
    model = tiny_edsr()
    path = tmp_path / "bad.pt"
    storage = np.zeros(8, np.float32).tobytes()
    write_state(path, edsr_state(model), {"head.0.bias": (storage, 8, *view)})
    _refused(model, path, "'head.0.bias'", field)


def test_element_cap_is_checked_before_reading(tmp_path):
    """A zero-stride view of one float with more than MAX_TENSOR_ELEMENTS elements stays
    inside its storage but is refused for its size, before anything is allocated."""
    path = tmp_path / "big.pt"
    write_pt(path, state_pickle([("x", tensor_ops("0", 1, 0, (MAX_TENSOR_ELEMENTS + 1,),
                                                  (0,)))]), {"0": ONE_FLOAT})
    with pytest.raises(WeightsError, match=r"'x' size: expected at most \d+ elements"):
        weights_pt.load_state_dict(path)


def test_valid_unusual_views_load(tmp_path):
    """What PyTorch itself writes for views: an offset, a transposed (non-contiguous) stride,
    a zero stride (expanded), an empty dimension, a 0-d tensor; all inside the storage."""
    path = tmp_path / "views.pt"
    raw = np.arange(12, dtype=np.float32)
    entries = [("offset", tensor_ops("0", 12, 4, (2, 2), (2, 1))),
               ("transposed", tensor_ops("0", 12, 0, (4, 3), (1, 4))),
               ("expanded", tensor_ops("0", 12, 5, (3, 2), (0, 1))),
               ("empty", tensor_ops("0", 12, 12, (0, 3), (3, 1))),
               ("scalar", tensor_ops("0", 12, 11, (), ()))]
    write_pt(path, state_pickle(entries), {"0": raw.tobytes()})
    state = weights_pt.load_state_dict(path)
    np.testing.assert_array_equal(state["offset"], [[4, 5], [6, 7]])
    np.testing.assert_array_equal(state["transposed"], raw.reshape(3, 4).T)
    np.testing.assert_array_equal(state["expanded"], [[5, 6]] * 3)
    assert state["empty"].shape == (0, 3)
    assert state["scalar"] == 11


def _oob_edsr_small(path) -> None:
    model = preset("edsr_small_x2")
    write_state(path, edsr_state(model), {
        "head.0.weight": (ONE_FLOAT, 1, 0, (8, 3, 3, 3), (2**30, 2**28, 2**26, 2**24))})


def test_cli_evaluate_with_out_of_bounds_weights_is_one_line(tmp_path):
    """``layerbench evaluate edsr_small_x2 --weights oob.pt``: exit 2, one line (this
    segfaulted, exit 139)."""
    path = tmp_path / "oob.pt"
    _oob_edsr_small(path)
    proc = subprocess.run([sys.executable, "-m", "layerbench", "evaluate", "edsr_small_x2",
                           "--weights", str(path)], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "LAYERBENCH_DEBUG": ""})
    assert proc.returncode == 2, proc.stderr[-2000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("layerbench evaluate: error: "), lines
    assert "'head.0.weight'" in lines[0] and str(path) in lines[0]


# -- .h5: nothing but the file itself is read ----------------------------------------------

@pytest.fixture
def secret(tmp_path):
    """A host file the weights must not read (as /etc/passwd in the reproduction)."""
    path = tmp_path / "host_secret.txt"
    path.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n" * 4)
    return path


def test_h5_writer_round_trip(tmp_path, keras_h5):
    source = tiny_edsr(seed=4)
    keras_h5(tmp_path / "w.h5", source)
    model = tiny_edsr()
    model.load_weights(tmp_path / "w.h5")
    for key, value in source.params().items():
        np.testing.assert_array_equal(model.params()[key], value, err_msg=key)


def test_h5_external_storage_is_refused(tmp_path, secret, keras_h5):
    """The reproduction: the head bias stored in a host file through HDF5 external storage
    (``external=[("/etc/passwd", 0, 32)]``; this loaded the file's bytes as the bias)."""
    def external(g, name, value):  # no data given: HDF5 writes nothing to the host file
        g.create_dataset(name, shape=value.shape, dtype="<f4",
                         external=[(str(secret), 0, value.nbytes)])

    before = secret.read_bytes()
    path = tmp_path / "external.h5"
    keras_h5(path, tiny_edsr(), external)
    _refused(tiny_edsr(), path, "external storage", str(secret), "conv2d/bias:0")
    assert secret.read_bytes() == before


def test_h5_virtual_dataset_is_refused(tmp_path, keras_h5):
    import h5py

    source = tmp_path / "source.h5"
    with h5py.File(source, "w") as f:
        f["data"] = np.arange(8, dtype=np.float32)

    def virtual(g, name, value):
        layout = h5py.VirtualLayout(shape=value.shape, dtype="<f4")
        layout[:] = h5py.VirtualSource(str(source), "data", shape=(8,))
        g.create_virtual_dataset(name, layout)

    path = tmp_path / "virtual.h5"
    keras_h5(path, tiny_edsr(), virtual)
    _refused(tiny_edsr(), path, "virtual dataset", "conv2d/bias:0")


def test_h5_external_link_is_refused(tmp_path, keras_h5):
    import h5py

    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["bias"] = np.arange(8, dtype=np.float32)

    def link(g, name, value):
        g[name] = h5py.ExternalLink(str(other), "/bias")

    path = tmp_path / "elink.h5"
    keras_h5(path, tiny_edsr(), link)
    _refused(tiny_edsr(), path, "external link", str(other))


def test_h5_unknown_filter_is_refused(tmp_path, keras_h5):
    """A filter id HDF5 would look for as a plugin on disk (none is registered here)."""
    def plugin(g, name, value):
        g.create_dataset(name, shape=value.shape, dtype="<f4", chunks=value.shape,
                         compression=32099, allow_unknown_filter=True)

    path = tmp_path / "filter.h5"
    keras_h5(path, tiny_edsr(), plugin)
    _refused(tiny_edsr(), path, "filter", "id 32099")


def test_h5_text_dataset_is_refused(tmp_path, keras_h5):
    import h5py

    def text(g, name, value):
        g.create_dataset(name, data=["x"] * value.size, dtype=h5py.string_dtype())

    path = tmp_path / "text.h5"
    keras_h5(path, tiny_edsr(), text)
    _refused(tiny_edsr(), path, "dtype", "expected numbers")


def test_h5_builtin_filters_and_soft_links_load(tmp_path, keras_h5):
    """What stays inside the file loads: compressed, shuffled, checksummed chunks and a soft
    link to a dataset of the same file."""
    import h5py

    def inside(g, name, value):
        g.create_dataset("stored", data=value, chunks=value.shape, compression="gzip",
                         shuffle=True, fletcher32=True)
        g[name] = h5py.SoftLink(g.name + "/stored")

    source = tiny_edsr(seed=9)
    path = tmp_path / "inside.h5"
    keras_h5(path, source, inside)
    model = tiny_edsr()
    model.load_weights(path)
    for key, value in source.params().items():
        np.testing.assert_array_equal(model.params()[key], value, err_msg=key)


# -- fuzz: random views, pickle streams and HDF5 layouts ------------------------------------
# A fixed (derandomised) slice runs in the test command; `nox -s fuzz` explores with fresh
# seeds and the fuzz profile's number of examples (`nox -s fuzz -- 600 -m fuzz`: these only).

def _examples(n: int) -> int:
    return n if settings.default.derandomize else settings.default.max_examples


STORAGES = {"FloatStorage": "<f4", "DoubleStorage": "<f8", "HalfStorage": "<f2",
            "LongStorage": "<i8", "ByteStorage": "u1", "BFloat16Storage": "bfloat16"}
dims = st.one_of(st.integers(-1, 5), st.sampled_from([2**31, 2**62]))
steps = st.one_of(st.integers(-2, 12), st.sampled_from([2**24, 2**30, 2**62]))


def _reference(raw: bytes, stype: str, numel: int, offset, size, stride):
    """The tensor a view denotes, read with numpy's bounds-checked indexing, or None when
    the view is invalid (the loader must refuse it)."""
    ints = (isinstance(offset, int) and all(isinstance(v, int) for v in (*size, *stride)))
    if not ints or offset < 0 or min((*size, *stride), default=0) < 0 \
            or len(size) != len(stride) or len(size) > MAX_NDIM:
        return None
    itemsize = 2 if stype == "BFloat16Storage" else np.dtype(STORAGES[stype]).itemsize
    if len(raw) < numel * itemsize or int(np.prod(size, dtype=object)) > MAX_TENSOR_ELEMENTS \
            or max(size, default=0) > MAX_TENSOR_ELEMENTS:  # an empty tensor too
        return None
    raw = raw[: numel * itemsize]
    if stype == "BFloat16Storage":
        data = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
    else:
        data = np.frombuffer(raw, STORAGES[stype])
    if 0 in size:
        return np.zeros(size, data.dtype) if offset <= numel else None
    index = offset + sum(np.arange(n).reshape((-1,) + (1,) * (len(size) - k - 1)) * s
                         for k, (n, s) in enumerate(zip(size, stride, strict=True)))
    index = np.broadcast_to(index, size) if size else np.asarray(offset)
    if index.max() >= numel:
        return None
    return data[index]


@pytest.mark.fuzz
@settings(max_examples=_examples(60))
@given(stype=st.sampled_from(sorted(STORAGES)), numel=st.integers(0, 40),
       extra=st.integers(-8, 8), offset=st.one_of(st.integers(-2, 48), st.just(2**40)),
       size=st.lists(dims, max_size=5).map(tuple), stride=st.lists(steps, max_size=5).map(tuple),
       seed=st.integers(0, 2**16))
def test_fuzz_pt_views_load_exactly_or_are_refused(tmp_path_factory, stype, numel, extra,
                                                   offset, size, stride, seed):
    """A tensor with a random offset, size and stride over a random storage: it loads as
    exactly the elements numpy's bounds-checked indexing reads, or it is refused; the loader
    never reads beyond the storage."""
    itemsize = 2 if stype == "BFloat16Storage" else np.dtype(STORAGES[stype]).itemsize
    raw = np.random.default_rng(seed).integers(0, 256, max(0, numel * itemsize + extra),
                                               dtype=np.uint8).tobytes()
    path = tmp_path_factory.mktemp("view") / "v.pt"
    write_pt(path, state_pickle([("x", tensor_ops("0", numel, offset, size, stride,
                                                  stype))]), {"0": raw})
    want = _reference(raw, stype, numel, offset, size, stride)
    if want is None:
        with pytest.raises(WeightsError, match="'x'|storage '0'"):
            weights_pt.load_state_dict(path)
        return
    got = weights_pt.load_state_dict(path)["x"]
    assert got.shape == want.shape and got.dtype == want.dtype
    assert got.flags.c_contiguous
    np.testing.assert_array_equal(np.atleast_1d(got).view(np.uint8),  # NaN payloads too
                                  np.atleast_1d(np.ascontiguousarray(want)).view(np.uint8))


GLOBALS = [("collections", "OrderedDict"), ("torch._utils", "_rebuild_tensor_v2"),
           ("torch._utils", "_rebuild_parameter"), ("torch", "FloatStorage"),
           ("torch", "LongStorage"), ("os", "system"), ("builtins", "eval"),
           ("torch._utils", "_rebuild_tensor"), ("collections", "defaultdict")]
opcodes = st.one_of(
    st.sampled_from([b"(", b"t", b")", b"R", b"Q", b"}", b"s", b"u", b"b", b"0", b"2", b"N",
                     b"\x88", b"\x89", b"]", b"a", b"e", b"\x85", b"\x86"]),
    st.integers(-3, 300).map(_ops), st.sampled_from(["storage", "0", "1", "cpu", "x"]).map(_ops),
    st.integers(0, 3).map(lambda i: b"q" + bytes([i])),
    st.integers(0, 3).map(lambda i: b"h" + bytes([i])),
    st.sampled_from(GLOBALS).map(lambda g: _global(*g)),
    st.builds(tensor_ops, st.sampled_from(["0", "1"]), st.integers(0, 20), st.integers(-1, 20),
              st.lists(st.integers(0, 5), max_size=3).map(tuple),
              st.lists(st.integers(0, 9), max_size=3).map(tuple)),
)


@pytest.mark.fuzz
@settings(max_examples=_examples(60))
@given(body=st.lists(opcodes, max_size=40))
def test_fuzz_pt_pickle_streams_only_load_or_refuse(tmp_path_factory, body):
    """Random opcode streams over the allowed globals (and some refused ones, ``os.system``
    among them): a state_dict or a WeightsError, nothing run, no other exception."""
    folder = tmp_path_factory.mktemp("stream")
    marker = folder / "ran"
    shell = _global("os", "system") + b"(" + _ops(f"touch {marker}") + b"tR"
    pkl = b"\x80\x02" + b"".join(body) + shell * (len(body) % 2) + b"."
    path = folder / "s.pt"
    write_pt(path, pkl, {"0": np.arange(16, dtype="<f4").tobytes(), "1": b"\x00" * 8})
    model = tiny_edsr()
    before = _snapshot(model)
    try:
        model.load_weights(path)
    except WeightsError as err:
        assert str(path) in str(err)
        assert all(np.array_equal(v, before[k]) for k, v in _snapshot(model).items())
    assert not marker.exists()


@pytest.mark.fuzz
@settings(max_examples=_examples(30))
@given(where=st.integers(0, 5),
       kind=st.sampled_from(["plain", "chunked", "compact", "soft", "external", "virtual",
                             "elink", "plugin", "text", "elink_unused"]),
       dtype=st.sampled_from(["<f4", "<f8", "<f2", ">f4"]), short=st.booleans())
def test_fuzz_h5_layouts_read_only_the_file(tmp_path_factory, keras_h5, where, kind, dtype,
                                            short):
    """The bias of layer ``where`` stored one of many ways, in a float type, maybe one value
    short: what stays in the file and fits loads equal to what was stored; anything reaching
    outside is refused, and nothing outside is read."""
    import h5py

    folder = tmp_path_factory.mktemp("h5")
    secret = folder / "host_secret.bin"
    secret.write_bytes(np.full(4096, 7, np.uint8).tobytes())
    other = folder / "other.h5"
    with h5py.File(other, "w") as f:
        f["d"] = np.zeros(4096, np.float32)
    source = tiny_edsr(seed=where)
    params = source.params()
    convs = [n.name for n in source.net.nodes.values() if n.layer.spec.has_weights]
    node = convs[where % len(convs)]

    def make(g, name, value):
        value = np.asarray(value, dtype)[: value.size - short]
        if kind == "plain":
            g.create_dataset(name, data=value)
        elif kind == "chunked":
            g.create_dataset(name, data=value, chunks=value.shape, compression="gzip",
                             shuffle=True)
        elif kind == "compact":
            plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
            plist.set_layout(h5py.h5d.COMPACT)
            space = h5py.h5s.create_simple(value.shape)
            ftype = h5py.h5t.py_create(value.dtype)
            dset = h5py.h5d.create(g.id, name.encode(), ftype, space, plist)
            dset.write(h5py.h5s.ALL, h5py.h5s.ALL, np.ascontiguousarray(value))
        elif kind == "soft":
            g.create_dataset(name + "_target", data=value)
            g[name] = h5py.SoftLink(f"{g.name}/{name}_target")
        elif kind == "external":
            g.create_dataset(name, shape=value.shape, dtype=dtype,
                             external=[(str(secret), 0, value.nbytes)])
        elif kind == "virtual":
            layout = h5py.VirtualLayout(shape=value.shape, dtype=dtype)
            layout[:] = h5py.VirtualSource(str(other), "d", shape=(4096,))[:value.size]
            g.create_virtual_dataset(name, layout)
        elif kind == "elink":
            g[name] = h5py.ExternalLink(str(other), "/d")
        elif kind == "elink_unused":  # not named by any layer: still refused
            g.create_dataset(name, data=value)
            g["unused"] = h5py.ExternalLink(str(other), "/d")
        elif kind == "plugin":
            g.create_dataset(name, shape=value.shape, dtype=dtype, chunks=value.shape,
                             compression=32099, allow_unknown_filter=True)
        else:  # text
            g.create_dataset(name, data=["x"] * value.size, dtype=h5py.string_dtype())

    path = folder / "w.h5"
    keras_h5(path, source, make, index=convs.index(node))
    before = secret.read_bytes()
    model = tiny_edsr()
    if kind in ("plain", "chunked", "compact", "soft") and not short:
        model.load_weights(path)
        bias = f"{node}/bias"
        stored = np.asarray(params[bias], dtype).astype(model.params()[bias].dtype)
        for key, value in {**params, bias: stored}.items():
            np.testing.assert_array_equal(model.params()[key], value, err_msg=key)
    else:
        _refused(model, path)
    assert secret.read_bytes() == before



def test_npz_array_header_with_a_huge_shape_is_refused_before_allocating(tmp_path):
    """A ``.npz`` whose array header declares 2**40 floats (numpy would allocate them whole
    before reading the data): refused from the header, naming the array."""
    source = tiny_edsr(seed=1)
    path = tmp_path / "huge.npz"
    source.save_weights(path)
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    name = "head/bias.npy"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False,
                                                  "shape": (2**40,)})
    members[name] = header.getvalue() + members[name][len(header.getvalue()):]
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    _refused(tiny_edsr(), path, "'head/bias' shape", "at most")
