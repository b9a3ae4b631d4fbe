"""Read EDSR-PyTorch ``state_dict`` files (``torch.save``) without PyTorch.

A ``.pt`` file is a zip archive: ``<root>/data.pkl`` pickles the ``OrderedDict`` of tensors;
each tensor points (pickle "persistent id") at a raw little-endian storage ``<root>/data/<key>``.
The unpickler below resolves only the few globals a state_dict needs (OrderedDict, typed
storages, the tensor/parameter rebuild functions) and refuses every other one, so reading a
file cannot run code. A tensor is a view (offset, size, stride) into its storage: each is
checked to lie inside the storage, and its size against a cap, before anything is read, so a
file cannot make the reader touch memory outside its own storages.

EDSR-PyTorch keys -> our nodes: ``head.0`` -> ``head``, ``body.{i}.body.0|2`` ->
``body{i}_conv1|2``, ``body.{N}`` -> ``body_conv``, ``tail.0.{2k}`` -> ``up{k}_conv``,
``tail.1`` -> ``tail``; ``sub_mean``/``add_mean`` (fixed mean shifts) are skipped, the
model applies the same shift. Kernels go OIHW -> HWIO, and the output channels of every
upsampler conv are permuted from PyTorch's CRD pixel-shuffle order to our DCR order.
"""

from __future__ import annotations

import collections
import math
import pickle
import zipfile

import numpy as np

from backends.errors import WeightsError, expected

from .weights_common import (
    MAX_NDIM,
    MAX_PICKLE_BYTES,
    MAX_TENSOR_ELEMENTS,
    MAX_TOTAL_ELEMENTS,
    check_params,
)

_STORAGES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
    "BFloat16Storage": "bfloat16",
}


class _StorageType:
    def __init__(self, name: str):
        self.name = name


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Storage:
    """One storage of the archive (``<root>/data/<key>``), read on first use.

    ``numel`` is the element count the pickle declares; the member must hold at least that
    many elements, and only those are read."""

    def __init__(self, archive: zipfile.ZipFile, member: str, dtype, numel: int):
        self.archive, self.member, self.dtype, self.numel = archive, member, dtype, numel
        self._array = None

    def array(self) -> np.ndarray:
        if self._array is None:
            itemsize = 2 if self.dtype == "bfloat16" else np.dtype(self.dtype).itemsize
            with self.archive.open(self.member) as f:
                raw = f.read(self.numel * itemsize)
            if self.dtype == "bfloat16":  # the upper half of a float32
                bits = np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
                self._array = bits.view(np.float32)
            else:
                self._array = np.frombuffer(raw, dtype=np.dtype(self.dtype).newbyteorder("<"))
        return self._array


class _Tensor:
    """A tensor as the pickle describes it; checked and copied out by :func:`_view`."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    return _Tensor(storage, offset, size, stride)


def _rebuild_parameter(data, *_):
    return data


def _checked_shape(tensor: _Tensor, where: str) -> tuple[tuple[int, ...], int]:
    """``(size, element count)`` of a tensor whose view lies inside its storage, else raise.

    The view reads elements ``offset + sum(i_k * stride_k)`` for ``0 <= i_k < size_k``; the
    largest is ``offset + sum((size_k - 1) * stride_k)``, which must be below the storage's
    element count. An empty tensor (a zero in ``size``) reads nothing.
    """
    storage, offset, size, stride = tensor.storage, tensor.offset, tensor.size, tensor.stride
    if not isinstance(storage, _Storage):
        raise WeightsError(expected(f"{where} storage", "a storage of the archive",
                                    type(storage).__name__))
    if not _is_int(offset) or offset < 0:
        raise WeightsError(expected(f"{where} storage offset", "an integer >= 0", offset))
    for name, value in (("size", size), ("stride", stride)):
        if not (isinstance(value, tuple) and len(value) <= MAX_NDIM
                and all(_is_int(v) and v >= 0 for v in value)):
            raise WeightsError(expected(f"{where} {name}", f"a tuple of at most {MAX_NDIM} "
                                        "integers >= 0", value))
    if len(stride) != len(size):
        raise WeightsError(expected(f"{where} stride", f"{len(size)} values (one per "
                                    f"dimension of size {size})", stride))
    count = math.prod(size)
    if count > MAX_TENSOR_ELEMENTS or max(size, default=0) > MAX_TENSOR_ELEMENTS:
        raise WeightsError(expected(f"{where} size", f"at most {MAX_TENSOR_ELEMENTS} elements",
                                    f"{size}: {count} elements"))
    if count == 0:
        if offset > storage.numel:
            raise WeightsError(expected(f"{where} storage offset", f"at most {storage.numel}",
                                        offset))
        return size, 0
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True))
    if last >= storage.numel:
        raise WeightsError(expected(
            f"{where} size/stride/offset",
            f"a view inside its storage of {storage.numel} elements "
            f"(offset + sum((size - 1) * stride) < {storage.numel})",
            f"size {size}, stride {stride}, offset {offset}: last element at {last}"))
    return size, count


def _view(tensor: _Tensor, size: tuple[int, ...]) -> np.ndarray:
    """A copy of a tensor checked by :func:`_checked_shape`."""
    data = tensor.storage.array()
    if not size:
        return data[tensor.offset].copy()
    if 0 in size:
        return np.zeros(size, data.dtype)
    # every element read is at most the checked last one; a dimension of size 1 never
    # steps, so its stride (any value) is left out
    strides = tuple(s * data.itemsize if n > 1 else 0 for n, s in zip(size, tensor.stride,
                                                                     strict=True))
    view = np.lib.stride_tricks.as_strided(data[tensor.offset:], shape=size, strides=strides,
                                           writeable=False)
    return np.array(view, order="C")


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
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        if (module, name) in self._ALLOWED:
            return self._ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGES:
            return _StorageType(name)
        raise WeightsError(f"{self.source}: refusing to load global {module}.{name} (a "
                           "state_dict holds only tensors; expected no other object)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType) and isinstance(pid[2], str)
                and _is_int(pid[4]) and pid[4] >= 0):
            raise WeightsError(expected(f"{self.source} persistent id",
                                        "('storage', <storage type>, key, location, numel)",
                                        pid))
        _, stype, key, _location, numel = pid
        if key in self.storages:
            return self.storages[key]
        where = f"{self.source} storage {key!r}"
        member = f"{self.root}/data/{key}" if self.root else f"data/{key}"
        try:
            info = self.archive.getinfo(member)
        except KeyError:
            raise WeightsError(expected(where, f"a member {member!r} in the archive",
                                        "none")) from None
        dtype = _STORAGES[stype.name]
        itemsize = 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize
        if numel > MAX_TOTAL_ELEMENTS:
            raise WeightsError(expected(f"{where} numel", f"at most {MAX_TOTAL_ELEMENTS} "
                                        "elements", numel))
        if info.file_size < numel * itemsize:
            raise WeightsError(expected(f"{where} size", f"{numel} elements of {stype.name} "
                                        f"({numel * itemsize} bytes)",
                                        f"{info.file_size} bytes"))
        self.storages[key] = _Storage(self.archive, member, dtype, numel)
        return self.storages[key]


def _tensors(state: dict, source: str) -> dict[str, np.ndarray]:
    """``{key: array}`` of the unpickled ``state``: every value a tensor whose view lies
    inside its storage, all sizes checked before any storage is read."""
    shapes = {}
    for key, value in state.items():
        where = f"{source} tensor {key!r}"
        if not isinstance(key, str):
            raise WeightsError(expected(f"{source} key", "a string", key))
        if not isinstance(value, _Tensor):
            raise WeightsError(expected(where, "a tensor", type(value).__name__))
        shapes[key] = _checked_shape(value, where)
    total = sum(count for _, count in shapes.values())
    total += sum(s.numel for s in {id(v.storage): v.storage for v in state.values()}.values())
    if total > MAX_TOTAL_ELEMENTS:
        raise WeightsError(expected(f"{source} tensors", f"at most {MAX_TOTAL_ELEMENTS} "
                                    "elements in all (tensors and storages)", total))
    return {key: _view(state[key], size) for key, (size, _) in shapes.items()}


def load_state_dict(path) -> dict[str, np.ndarray]:
    """``{key: ndarray}`` of a state_dict saved by ``torch.save`` (zip format, PyTorch >= 1.6).

    Every tensor is checked against its storage before anything is read (a view inside the
    storage, at most :data:`~layerbench.models.weights_common.MAX_TENSOR_ELEMENTS` elements);
    the file can name no other object than tensors.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.pt`` file.

    Returns
    -------
    dict of str to numpy.ndarray
        The tensors, a ``module.`` prefix removed from their keys.

    Raises
    ------
    backends.errors.WeightsError
        The file is not such an archive, or names another global, or a tensor reads outside
        its storage or is too large (naming the file, the tensor key and the bad field).
    """
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
        if z.getinfo(pkls[0]).file_size > MAX_PICKLE_BYTES:
            raise WeightsError(expected(f"{path} {pkls[0]}", f"at most {MAX_PICKLE_BYTES} "
                                        "bytes", z.getinfo(pkls[0]).file_size))
        with z.open(pkls[0]) as f:
            state = _Unpickler(f, z, root, path).load()
        if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
            state = state["state_dict"]
        if not isinstance(state, dict):
            raise WeightsError(expected(path, "a state_dict (mapping of tensors)", type(state)))
        tensors = _tensors(state, path)
    return {k.removeprefix("module."): v for k, v in tensors.items()}


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
