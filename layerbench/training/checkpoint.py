"""Atomic training checkpoints: parameters, Adam slots, step and history in one ``.npz``.

Written to a temporary file and renamed over the old checkpoint, so a run killed at any
moment leaves either the previous or the new checkpoint, never a torn one.
"""

from __future__ import annotations

import json
import os

import numpy as np

from backends import Adam
from backends.errors import WeightsError, expected


def _slot_names(model) -> dict[tuple[int, str], str]:
    """Adam keys its slots by ``(id(layer), param)``; map them to ``"node/param"``."""
    return {(id(n.layer), p): f"{n.name}/{p}" for n in model.net.nodes.values()
            for p in n.layer.params()}


def save(path, model, optimizer: Adam, *, step: int, meta: dict) -> None:
    """Write a checkpoint atomically (a temporary file renamed over ``path``).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file to write.
    model : SRModel
        Its parameters are saved as ``p:<node>/<param>``.
    optimizer : backends.Adam
        Its moments are saved as ``m:`` and ``v:`` entries, its step counts in the header.
    step : int
        The training step reached.
    meta : dict
        More JSON-serialisable header entries (e.g. the history so far).
    """
    names = _slot_names(model)
    arrays = {f"p:{k}": v for k, v in model.params().items()}
    counts = {}
    for key, (m, v, t) in optimizer._slots.items():
        arrays[f"m:{names[key]}"], arrays[f"v:{names[key]}"] = m, v
        counts[names[key]] = t
    header = {"step": step, "adam_steps": counts, **meta}
    path = os.fspath(path)
    tmp = path + ".tmp.npz"
    np.savez(tmp, __header__=np.array(json.dumps(header)), **arrays)
    os.replace(tmp, path)


def load(path, model, optimizer: Adam) -> dict:
    """Restore ``model`` and ``optimizer`` in place; return the header (``step``, ...).

    Parameters
    ----------
    path : str or os.PathLike
        A checkpoint written by :func:`save`.
    model : SRModel
        Receives the parameters.
    optimizer : backends.Adam
        Receives the moments and step counts.

    Returns
    -------
    dict
        The header (``step``, ``history``, ...).

    Raises
    ------
    WeightsError
        The checkpoint does not fit the model.
    """
    with np.load(path, allow_pickle=False) as f:
        header = json.loads(str(f["__header__"]))
        params = {k[2:]: f[k] for k in f.files if k.startswith("p:")}
        model.load_params(params)
        by_name = {v: k for k, v in _slot_names(model).items()}
        optimizer._slots.clear()
        for name, t in header["adam_steps"].items():
            if name not in by_name:
                raise WeightsError(expected("checkpoint Adam slot", "a parameter of the model",
                                            name))
            key = by_name[name]
            dt = model.dtype
            optimizer._slots[key] = [np.array(f[f"m:{name}"], dtype=dt),
                                     np.array(f[f"v:{name}"], dtype=dt), int(t)]
    return header
