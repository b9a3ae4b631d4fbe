"""Read EDSR-PyTorch ``state_dict`` files (``torch.save``) without PyTorch.

A ``.pt`` file is a zip archive: ``<root>/data.pkl`` pickles the ``OrderedDict`` of tensors;
each tensor points (pickle "persistent id") at a raw little-endian storage ``<root>/data/<key>``.
The unpickler below resolves only the few globals a state_dict needs (OrderedDict, typed
storages, the tensor/parameter rebuild functions) and refuses every other one, so reading a
file cannot run code.

EDSR-PyTorch keys -> our nodes: ``head.0`` -> ``head``, ``body.{i}.body.0|2`` ->
``body{i}_conv1|2``, ``body.{N}`` -> ``body_conv``, ``tail.0.{2k}`` -> ``up{k}_conv``,
``tail.1`` -> ``tail``; ``sub_mean``/``add_mean`` (fixed mean shifts) are skipped, the
model applies the same shift. Kernels go OIHW -> HWIO, and the output channels of every
upsampler conv are permuted from PyTorch's CRD pixel-shuffle order to our DCR order.
"""

from __future__ import annotations

import collections
import pickle
import zipfile

import numpy as np

from backends.errors import WeightsError, expected

from .weights_common import check_params

_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": "bfloat16",
}


class _StorageType:
    def __init__(self, name: str):
        self.name = name


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    itemsize = storage.dtype.itemsize
    if not size:
        return storage[offset].copy()
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=tuple(size),
                                           strides=tuple(s * itemsize for s in stride))
    return np.array(view)


def _rebuild_parameter(data, *_):
    return data


class _Unpickler(pickle.Unpickler):
    """Resolves only what a state_dict needs; storages are read lazily from the zip."""

    _ALLOWED = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
        ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    }

    def __init__(self, file, archive: zipfile.ZipFile, root: str, source: str):
        super().__init__(file)
        self.archive, self.root, self.source = archive, root, source

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        raise WeightsError(f"{self.source}: refusing to load global {module}.{name} (a "
                           "state_dict holds only tensors; expected no other object)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise WeightsError(expected(f"{self.source} persistent id", "('storage', ...)", pid))
        _, stype, key, _location, numel = pid
        raw = self.archive.read(f"{self.root}/data/{key}")
        dtype = _STORAGES[stype.name]
        if dtype == "bfloat16":  # the upper half of a float32
            bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
            return bits.view(np.float32)
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<"))[:numel]


def load_state_dict(path) -> dict[str, np.ndarray]:
    """``{key: ndarray}`` of a state_dict saved by ``torch.save`` (zip format, PyTorch >= 1.6)."""
    path = str(path)
    if not zipfile.is_zipfile(path):
        raise WeightsError(expected(path, "a torch.save zip archive (PyTorch >= 1.6)",
                                    "another file (legacy .pt formats are not supported)"))
    with zipfile.ZipFile(path) as z:
        pkls = [n for n in z.namelist() if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkls) != 1:
            raise WeightsError(expected(path, "one data.pkl in the archive", pkls))
        root = pkls[0].rpartition("/")[0]
        order = root + "/byteorder" if root else "byteorder"
        if order in z.namelist() and z.read(order).strip() != b"little":
            raise WeightsError(expected(f"{path} byteorder", "little", z.read(order)))
        with z.open(pkls[0]) as f:
            state = _Unpickler(f, z, root, path).load()
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"],
                                                                       dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise WeightsError(expected(path, "a state_dict (mapping of tensors)", type(state)))
    return {k.removeprefix("module."): v for k, v in state.items()}


def crd_to_dcr(n_channels: int, scale: int) -> np.ndarray:
    """Index array ``perm`` with ``dcr[..., k] = crd[..., perm[k]]`` for a shuffle by ``scale``.

    DCR channel ``(i r + j) C + c`` and CRD channel ``c r^2 + i r + j`` hold the same output
    pixel ``(i, j)`` of channel ``c``.
    """
    r2 = scale * scale
    c_out = n_channels // r2
    return np.array([c * r2 + q for q in range(r2) for c in range(c_out)])


def edsr_key_map(model) -> dict[str, tuple[str, int]]:
    """EDSR-PyTorch module prefix -> (our node, shuffle factor after it or 0).

    The upsampler steps are read from the model's own graph (``up{k}_conv`` followed by
    ``up{k}_shuffle``), not from the EDSR builder: the builder's module imports the model
    class, which reads weights with this module."""
    if model.arch != "edsr":
        raise WeightsError(expected("model for a .pt file", "an EDSR model", model.arch))
    n = model.config["n_resblocks"]
    keys = {"head.0": ("head", 0), f"body.{n}": ("body_conv", 0), "tail.1": ("tail", 0)}
    for i in range(n):
        keys[f"body.{i}.body.0"] = (f"body{i}_conv1", 0)
        keys[f"body.{i}.body.2"] = (f"body{i}_conv2", 0)
    nodes, k = model.net.nodes, 0
    while f"up{k}_conv" in nodes:
        keys[f"tail.0.{2 * k}"] = (f"up{k}_conv", nodes[f"up{k}_shuffle"].layer.spec.scale)
        k += 1
    return keys


def read(path, model) -> dict[str, np.ndarray]:
    """Parameters of ``model`` (an EDSR) from an EDSR-PyTorch ``.pt`` state_dict."""
    state = load_state_dict(path)
    mapping = edsr_key_map(model)
    params = {}
    for key, value in state.items():
        prefix, _, kind = key.rpartition(".")
        if prefix in ("sub_mean", "add_mean"):
            continue
        if prefix not in mapping or kind not in ("weight", "bias"):
            raise WeightsError(expected(f"{path} key", "an EDSR-PyTorch parameter of this "
                                        f"model (e.g. {next(iter(mapping))}.weight)", key))
        node, shuffle = mapping[prefix]
        if kind == "weight":
            if value.ndim != 4:
                raise WeightsError(expected(f"{path} layer {node!r} ({key}) kernel",
                                            "4 dimensions (OIHW)", value.shape))
            value = value.transpose(2, 3, 1, 0)  # OIHW -> HWIO
        if shuffle:
            value = value[..., crd_to_dcr(value.shape[-1], shuffle)]
        params[f"{node}/{'weights' if kind == 'weight' else 'bias'}"] = value
    return check_params(model, params, f"{path} (EDSR-PyTorch)")
