"""Checks shared by the weight readers: every error names the layer, expected and found."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from backends.errors import WeightsError


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
