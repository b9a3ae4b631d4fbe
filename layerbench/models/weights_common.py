"""Checks shared by the weight readers: every error names the layer, expected and found."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

import numpy as np

from backends.errors import WeightsError

# Limits on what a weights file may ask the readers to allocate, checked before anything is
# read: a weights file from the internet is untrusted input (docs/user/security.md).
#: Elements of one tensor (2**26: 256 MiB of float32; EDSR's largest kernel has 590k).
MAX_TENSOR_ELEMENTS = 2**26
#: Elements of all tensors (and storages) of one file together (1 GiB of float32).
MAX_TOTAL_ELEMENTS = 2**28
#: Dimensions of one tensor.
MAX_NDIM = 16
#: Bytes of a ``.pt`` archive's pickle (``data.pkl``; a state_dict's is a few kB).
MAX_PICKLE_BYTES = 2**24


def check_params(model, params: Mapping[str, np.ndarray], source: str) -> dict[str, np.ndarray]:
    """Return ``params`` if it has exactly the model's keys and shapes, else raise.

    ``source`` names the file (and format) for the message.
    """
    want = {k: v.shape for k, v in model.params().items()}
    missing = sorted(set(want) - set(params))
    if missing:
        node, _, p = missing[0].partition("/")
        raise WeightsError(
            f"{source}: layer {node!r} parameter {p!r}: expected shape {want[missing[0]]}, "
            f"found nothing ({len(missing)} missing: {missing[:4]}...)"
        )
    unknown = sorted(set(params) - set(want))
    if unknown:
        raise WeightsError(f"{source}: expected only parameters of this model, found unknown "
                           f"{unknown[:4]} ({len(unknown)} in all)")
    for key, shape in want.items():
        found = np.shape(params[key])
        if found != shape:
            node, _, p = key.partition("/")
            raise WeightsError(f"{source}: layer {node!r} parameter {p!r}: expected shape "
                               f"{shape}, found {found}")
    return dict(params)


def read_file(reader: Callable, path, model, fmt: str) -> dict[str, np.ndarray]:
    """``reader(path, model)`` with every failure turned into one named error.

    A missing file is ``FileNotFoundError`` naming it; anything else a reader raises on a
    truncated, corrupt or foreign file (``BadZipFile``, numpy's pickle refusal, h5py's
    ``OSError``, ``UnpicklingError``, ``EOFError``, a ``KeyError`` of a malformed archive ...)
    is a :class:`WeightsError` naming the file, the format and the reason. Its own
    ``WeightsError`` (a file that reads but does not fit the model) passes unchanged.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    try:
        return reader(path, model)
    except WeightsError:
        raise
    except MemoryError as err:  # a corrupt header can ask for an absurd allocation
        raise WeightsError(f"{path}: not a readable {fmt} weights file (corrupt sizes: "
                           f"{err})") from err
    except Exception as err:
        reason = f"{type(err).__name__}: {err}".strip().rstrip(":")
        raise WeightsError(f"{path}: not a readable {fmt} weights file (truncated, corrupt "
                           f"or another format; {reason})") from err
