"""Read Keras ``.h5`` weights (h5py) into EDSR / WDSR models.

Layouts: the Keras HDF5 layout written by ``model.save("x.h5")`` / Keras 2 ``save_weights``
(optional ``model_weights`` group; root attribute ``layer_names``; per layer an attribute
``weight_names`` such as ``conv2d/kernel:0``) and the Keras 3 ``.weights.h5`` layout
(``layers/<layer>/vars/<i>``, plain convolutions only: kernel then bias; layers in the
order of their names, numbers compared numerically, which is Keras' creation order).

Kernels are HWIO already. Weight-normalised layers store ``v`` (or ``kernel``) and ``g``;
they are folded as ``W = g v / ||v||`` with the norm over (H, W, I) per output channel.

Before any dataset is read, the whole file is checked (:func:`check_file`): no external
links, no dataset stored in other files (external storage, virtual datasets), only HDF5's
built-in filters, numeric data under the size caps of
:mod:`layerbench.models.weights_common`. A weights file reads nothing but itself.

Layer matching: the convolution layers of the file, in file order, map to the model's
convolution nodes in graph order; the WDSR tails are matched by name first
(``conv2d_main_scale_{s}`` -> ``main_conv``, ``conv2d_skip_scale_{s}`` -> ``skip_conv``).
"""

from __future__ import annotations

import re

import numpy as np

from backends.errors import WeightsError, expected

from .weights_common import MAX_TENSOR_ELEMENTS, MAX_TOTAL_ELEMENTS, check_params

ANCHORS = {"conv2d_main_scale_": "main_conv", "conv2d_skip_scale_": "skip_conv"}


def _decode(v):
    return v.decode() if isinstance(v, bytes) else str(v)


def _natural(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _short(weight_name: str) -> str:
    """``'wn_3/conv2d_3/kernel:0'`` -> ``'kernel'``."""
    return weight_name.rsplit("/", 1)[-1].split(":")[0]


# HDF5's built-in filters (deflate, shuffle, fletcher32, szip, nbit, scale-offset) and h5py's
# own lzf; any other id names a plugin, which HDF5 would look for and load from disk
SAFE_FILTERS = {1: "deflate", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit",
                6: "scaleoffset", 32000: "lzf"}


def _check_dataset(ds, where: str) -> int:
    """The element count of dataset ``ds`` if its data lies in this file, else raise."""
    import h5py

    plist = ds.id.get_create_plist()
    if plist.get_external_count() > 0:
        name = _decode(plist.get_external(0)[0])
        raise WeightsError(expected(f"{where} storage", "data inside the file",
                                    f"external storage in {name!r}"))
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise WeightsError(expected(f"{where} layout", "data inside the file",
                                    "a virtual dataset (data mapped from other files)"))
    for i in range(plist.get_nfilters()):
        code, _flags, _values, name = plist.get_filter(i)
        if code not in SAFE_FILTERS:
            raise WeightsError(expected(f"{where} filter", f"one of HDF5's built-in filters "
                                        f"{sorted(SAFE_FILTERS.values())}",
                                        f"{_decode(name) or 'unnamed'} (id {code})"))
    if ds.dtype.kind not in "fiub" or ds.dtype.fields is not None:
        raise WeightsError(expected(f"{where} dtype", "numbers", str(ds.dtype)))
    count = int(np.prod(ds.shape, dtype=object)) if ds.shape is not None else 0
    if count > MAX_TENSOR_ELEMENTS:
        raise WeightsError(expected(f"{where} shape", f"at most {MAX_TENSOR_ELEMENTS} "
                                    "elements", ds.shape))
    return count


def check_file(f, path) -> None:
    """Raise unless every link of the open HDF5 file ``f`` stays inside it and every dataset
    holds its own data.

    Refused: external links, datasets with external storage or a virtual layout, filters
    other than HDF5's built-in ones, non-numeric datasets, more elements than
    :data:`~layerbench.models.weights_common.MAX_TENSOR_ELEMENTS` in a dataset or
    :data:`~layerbench.models.weights_common.MAX_TOTAL_ELEMENTS` in all. Soft links are paths
    inside the file; the objects they name are checked where they are.

    Parameters
    ----------
    f : h5py.File
        The file, open for reading; no dataset is read.
    path : str
        The file's name, for the message.

    Raises
    ------
    backends.errors.WeightsError
        Naming the file, the object and what is refused.
    """
    import h5py

    total = 0

    def links(group, name: str) -> None:
        for key in group:
            link = group.get(key, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                raise WeightsError(expected(f"{path} link {name.rstrip('/')}/{key}",
                                            "an object of this file",
                                            f"an external link to {link.filename!r}:"
                                            f"{link.path}"))
            if not isinstance(link, h5py.HardLink | h5py.SoftLink):
                raise WeightsError(expected(f"{path} link {name.rstrip('/')}/{key}",
                                            "a hard or soft link", type(link).__name__))

    def visit(name: str, obj) -> None:
        nonlocal total
        if isinstance(obj, h5py.Group):
            links(obj, "/" + name)
        elif isinstance(obj, h5py.Dataset):
            total += _check_dataset(obj, f"{path} dataset /{name}")
            if total > MAX_TOTAL_ELEMENTS:
                raise WeightsError(expected(f"{path} datasets", f"at most {MAX_TOTAL_ELEMENTS} "
                                            "elements in all", total))

    links(f, "/")
    f.visititems(visit)


def read_layers(path) -> list[tuple[str, dict[str, np.ndarray]]]:
    """``[(layer name, {short weight name: array})]`` in file order, weightless layers
    dropped."""
    import h5py

    out = []
    with h5py.File(path, "r") as f:
        check_file(f, path)
        root = f["model_weights"] if "model_weights" in f else f
        if "layer_names" in root.attrs:
            for lname in map(_decode, root.attrs["layer_names"]):
                group = root[lname]
                names = [_decode(n) for n in group.attrs.get("weight_names", [])]
                weights = {_short(n): np.array(group[n]) for n in names}
                if weights:
                    out.append((lname + " " + " ".join(names), weights))
        elif "layers" in root:
            # HDF5 lists groups alphabetically; Keras numbers layers in creation order
            # (conv2d, conv2d_1, ..., conv2d_10), so compare the numbers numerically
            for key in sorted(root["layers"], key=_natural):
                vars_ = root["layers"][key].get("vars")
                if vars_ is None or not len(vars_):
                    continue
                arrays = [np.array(vars_[str(i)]) for i in range(len(vars_))]
                lname = _decode(vars_.attrs.get("name", key))
                if len(arrays) > 2:
                    raise WeightsError(expected(f"{path} layer {lname!r}",
                                                "kernel and bias (Keras 3 layout)",
                                                f"{len(arrays)} variables"))
                out.append((lname, dict(zip(("kernel", "bias"), arrays, strict=False))))
        else:
            raise WeightsError(expected(path, "a Keras HDF5 weights file ('layer_names' or "
                                        "'layers')", list(root.keys())))
    return out


def fold(weights: dict[str, np.ndarray], layer: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Kernel (weight norm folded) and bias of one Keras convolution layer."""
    if "g" in weights:
        v = weights.get("v", weights.get("kernel"))
        if v is None:
            raise WeightsError(expected(f"layer {layer!r}", "'v' (or 'kernel') next to 'g'",
                                        sorted(weights)))
        v = v.astype(np.float64)
        norm = np.sqrt(np.sum(v * v, axis=(0, 1, 2)))
        kernel = weights["g"].astype(np.float64) * v / norm
    elif "kernel" in weights:
        kernel = weights["kernel"]
    else:
        raise WeightsError(expected(f"layer {layer!r}", "a 'kernel' (or 'v' and 'g')",
                                    sorted(weights)))
    return kernel, weights.get("bias")


def read(path, model) -> dict[str, np.ndarray]:
    """Parameters of ``model`` from a Keras ``.h5`` file."""
    convs = [n.name for n in model.net.nodes.values() if n.layer.spec.has_weights]
    layers = [(name, w) for name, w in read_layers(path)
              if any(k in w for k in ("kernel", "v"))]
    assigned: dict[str, tuple[str, dict]] = {}
    rest = []
    for lname, w in layers:
        anchor = next((a for a in ANCHORS if a in lname), None)
        if anchor is None:
            rest.append((lname, w))
            continue
        scale = lname.split(anchor, 1)[1].split("/")[0].split(" ")[0]
        if scale != str(model.scale) or ANCHORS[anchor] not in convs:
            raise WeightsError(expected(f"{path} layer {lname.split()[0]!r}",
                                        f"a tail of this x{model.scale} {model.arch}",
                                        f"{anchor}{scale}"))
        assigned[ANCHORS[anchor]] = (lname, w)
    free = [c for c in convs if c not in assigned]
    if len(rest) != len(free):
        raise WeightsError(expected(f"{path} convolution layers", f"{len(convs)} for this "
                                    f"{model.arch} ({free[:3]}...)",
                                    f"{len(rest) + len(assigned)}"))
    assigned.update(zip(free, rest, strict=True))
    want = model.params()
    params = {}
    for node in convs:  # graph order: the first mismatch reported is the earliest layer
        lname, w = assigned[node]
        kernel, bias = fold(w, lname.split()[0])
        for p, value in (("weights", kernel), ("bias", bias)):
            key = f"{node}/{p}"
            if value is None or key not in want:
                continue
            if value.shape != want[key].shape:
                raise WeightsError(f"{path}: layer {node!r} (Keras {lname.split()[0]!r}) "
                                   f"{p}: expected shape {want[key].shape}, found {value.shape}")
            params[key] = value
    return check_params(model, params, f"{path} (Keras)")
