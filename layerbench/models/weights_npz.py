"""The project's weight format: ``.npz`` of ``"node/param"`` arrays plus a JSON header.

The header (key ``__header__``, a 0-d unicode array, so no pickle is needed) holds
``{"format": "layerbench-weights", "version": 1, "arch", "name", "scale", "config", ...}``
and any extra fields given at save time (training provenance).
"""

from __future__ import annotations

import json
import os

import numpy as np

from backends.errors import WeightsError, expected

from .weights_common import MAX_TENSOR_ELEMENTS, MAX_TOTAL_ELEMENTS, check_params

FORMAT = "layerbench-weights"
VERSION = 1
HEADER = "__header__"


def write(path, model, **extra) -> None:
    """Write ``model``'s parameters atomically (temp file, then rename)."""
    path = os.fspath(path)
    header = {"format": FORMAT, "version": VERSION, "arch": model.arch, "name": model.name,
              "scale": model.scale, "config": model.config, **extra}
    arrays = {k: np.asarray(v) for k, v in model.params().items()}
    tmp = path + ".tmp.npz"
    np.savez(tmp, **{HEADER: np.array(json.dumps(header))}, **arrays)
    os.replace(tmp, path)


def read_header(path) -> dict:
    """Read the header entry of a layerbench ``.npz`` weights file.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Returns
    -------
    dict
        The decoded header.

    Raises
    ------
    WeightsError
        If the file has no header entry.
    """
    with np.load(path, allow_pickle=False) as f:
        if HEADER not in f.files:
            raise WeightsError(expected(f"{path}", f"a {HEADER!r} entry (layerbench .npz)",
                                        "none"))
        return json.loads(str(f[HEADER]))


def check_sizes(path) -> None:
    """Raise unless every array of the ``.npz`` ``path`` holds at most
    :data:`~layerbench.models.weights_common.MAX_TENSOR_ELEMENTS` elements (and all together
    :data:`~layerbench.models.weights_common.MAX_TOTAL_ELEMENTS`), read from the array
    headers before any array is: numpy allocates an array whole before reading its data.

    Parameters
    ----------
    path : str or pathlib.Path
        The file.

    Raises
    ------
    WeightsError
        Naming the file, the array and its shape.
    """
    import zipfile

    total = 0
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if not name.endswith(".npy"):
                continue
            with z.open(name) as f:
                version = np.lib.format.read_magic(f)
                header = (np.lib.format.read_array_header_1_0 if version == (1, 0) else
                          np.lib.format.read_array_header_2_0)
                shape, _, _ = header(f)
            count = int(np.prod(shape, dtype=object))
            total += count
            if count > MAX_TENSOR_ELEMENTS or total > MAX_TOTAL_ELEMENTS:
                raise WeightsError(expected(f"{path} array {name[:-4]!r} shape",
                                            f"at most {MAX_TENSOR_ELEMENTS} elements (and "
                                            f"{MAX_TOTAL_ELEMENTS} in all)", shape))


def read(path, model) -> dict[str, np.ndarray]:
    """Parameters for ``model``; the header's architecture and config must match it."""
    check_sizes(path)
    header = read_header(path)
    if header.get("format") != FORMAT or header.get("version") != VERSION:
        raise WeightsError(expected(f"{path} header format/version", f"{FORMAT} v{VERSION}",
                                    f"{header.get('format')} v{header.get('version')}"))
    if header.get("arch") != model.arch:
        raise WeightsError(expected(f"{path} architecture", model.arch, header.get("arch")))
    for key, value in model.config.items():
        if key == "border":  # the same weights run with either border handling
            continue
        found = header.get("config", {}).get(key)
        if found != value:
            raise WeightsError(expected(f"{path} config {key!r}", value, found))
    with np.load(path, allow_pickle=False) as f:
        params = {k: f[k] for k in f.files if k != HEADER}
    return check_params(model, params, f"{path}")
