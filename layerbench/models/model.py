"""``SRModel``: a layer graph plus the pre- and post-processing of a super-resolution model.

The model wraps a :class:`backends.Network` (composition): ``forward``/``backward``/
``update``/``params`` act on the network, which sees normalised images; ``super_resolve``
takes and returns uint8 images.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from backends import Network
from backends.errors import ShapeError, WeightsError, expected

from . import graph, inference


class SRModel:
    """A super-resolution model.

    The network maps ``xn = pad((x - mean) / norm)`` to ``(y - mean) / norm`` for an LR
    image ``x`` and HR image ``y`` in [0, 255]; ``pad`` is the identity unless the model was
    built with ``border="symmetric"`` (2-pixel symmetric padding and valid convolutions at
    the border, as krasserm's WDSR at test time).

    Parameters
    ----------
    net : backends.Network
    arch : str
        ``"edsr"``, ``"wdsr_a"``, ``"wdsr_b"``.
    config : dict
        The builder's keyword arguments (stored in saved weights, checked on load).
    scale : int
    mean : sequence of 3 floats
        Per-channel mean in [0, 255].
    norm : float
        Divisor after subtracting the mean (1 for EDSR, 127.5 for WDSR).
    pad : int
        Symmetric input padding the network expects on every side.
    """

    def __init__(self, net: Network, *, arch: str, config: dict[str, Any], scale: int,
                 mean, norm: float, pad: int = 0, name: str | None = None):
        self.net = net
        self.arch = arch
        self.config = dict(config)
        self.scale = int(scale)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.norm = float(norm)
        self.pad = int(pad)
        self.name = name or arch

    # -- the layer protocol, delegated -----------------------------------------------------
    @property
    def backend(self):
        return self.net.backend

    @property
    def dtype(self) -> np.dtype:
        return self.net.dtype

    def forward(self, x: np.ndarray, *, training: bool = False) -> np.ndarray:
        """Network forward on normalised NHWC input (see :meth:`normalise`)."""
        return self.net.forward(x, training=training)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return self.net.backward(dy)

    def update(self, optimizer) -> None:
        self.net.update(optimizer)

    def params(self) -> dict[str, np.ndarray]:
        return self.net.params()

    def grads(self) -> dict[str, np.ndarray]:
        return self.net.grads()

    def num_params(self) -> int:
        return self.net.num_params()

    def load_params(self, p: Mapping[str, np.ndarray], *, strict: bool = True) -> None:
        """All or nothing: see :meth:`backends.Network.load_params`."""
        self.net.load_params(p, strict=strict)

    def summary(self) -> str:
        return self.net.summary()

    def receptive_radius(self) -> int:
        """Receptive half-width in LR pixels (the tile overlap that makes tiling exact)."""
        return graph.receptive_radius(self.net)

    # -- normalisation ---------------------------------------------------------------------
    def normalise(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / norm`` for NHWC ``x`` in [0, 255], in the model dtype, padded
        symmetrically by ``pad`` pixels when the model uses valid border convolutions."""
        xn = ((np.asarray(x, dtype=np.float64) - self.mean) / self.norm).astype(self.dtype)
        if self.pad:
            p = self.pad
            xn = np.pad(xn, ((0, 0), (p, p), (p, p), (0, 0)), mode="symmetric")
        return np.ascontiguousarray(xn)

    def denormalise(self, y: np.ndarray) -> np.ndarray:
        """Inverse of the normalisation, in [0, 255] units (not clipped)."""
        return y.astype(np.float64) * self.norm + self.mean

    # -- inference -------------------------------------------------------------------------
    def predict(self, x: np.ndarray, *, tile: int | None = None, overlap: int | None = None,
                band_bytes: int = inference.BAND_BYTES) -> np.ndarray:
        """Float HR image(s) in [0, 255] units for NHWC ``x`` in [0, 255], unclipped.

        ``tile`` (LR pixels, default: no tiling) splits the image into cores with
        ``overlap`` pixels of context (default: the receptive radius, which makes the
        result equal to the untiled one); convolutions always run in row bands of at most
        ``band_bytes`` working memory.
        """
        xn = self.normalise(x)

        def run(part):
            return inference.forward_banded(self.net, part, band_bytes)

        if tile is None:
            y = run(xn)
        else:
            if not isinstance(tile, int) or tile < 1:
                raise ValueError(expected("tile", "an integer >= 1 or None", tile))
            overlap = self.receptive_radius() if overlap is None else int(overlap)
            y = inference.run_tiled(run, xn, scale=self.scale, shrink=self.pad, tile=tile,
                                    overlap=overlap, out_channels=3)
        return self.denormalise(y)

    def super_resolve(self, image: np.ndarray, *, tile: int | None = 256,
                      overlap: int | None = None,
                      band_bytes: int = inference.BAND_BYTES) -> np.ndarray:
        """Super-resolve one uint8 image (H x W x 3, or H x W grey replicated to RGB).

        Returns uint8 ``(scale H) x (scale W) x 3``: the model output clipped to [0, 255]
        and rounded half to even. Tiling arguments as in :meth:`predict`; the default cores
        of 256 LR pixels (plus the receptive radius of context on each inner side) keep the
        activations of a tile bounded whatever the image size, at the price of recomputing
        the overlaps (1.8x the arithmetic of EDSR x2 on 510 x 339).
        """
        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise TypeError(expected("image.dtype", "uint8", image.dtype))
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
            image = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3:
            raise ShapeError(expected("image.shape", "(H, W), (H, W, 1) or (H, W, 3)",
                                      image.shape))
        y = self.predict(image[None], tile=tile, overlap=overlap, band_bytes=band_bytes)[0]
        return np.clip(np.rint(y), 0, 255).astype(np.uint8)

    # -- weights ---------------------------------------------------------------------------
    def load_weights(self, path: str | os.PathLike) -> None:
        """Load weights; the format follows the suffix: ``.pt`` (EDSR-PyTorch state_dict,
        read without torch), ``.h5`` (Keras), ``.npz`` (ours, with a JSON header).

        All or nothing: the whole file is read and checked before any parameter is assigned;
        on any error the model is unchanged.

        Raises
        ------
        FileNotFoundError
            ``path`` does not exist (the message names it).
        backends.errors.WeightsError
            The file is truncated, corrupt or of another format (naming the file and the
            reason), or does not fit this model (naming the layer, the expected and the
            found shape).
        """
        from . import weights_h5, weights_npz, weights_pt
        from .weights_common import read_file

        suffix = Path(path).suffix.lower()
        readers = {".pt": (weights_pt.read, "EDSR-PyTorch .pt"),
                   ".pth": (weights_pt.read, "EDSR-PyTorch .pt"),
                   ".h5": (weights_h5.read, "Keras .h5"),
                   ".npz": (weights_npz.read, "layerbench .npz")}
        if suffix not in readers:
            raise WeightsError(expected("weights file suffix", f"one of {list(readers)}",
                                        os.fspath(path)))
        reader, fmt = readers[suffix]
        self.load_params(read_file(reader, path, self, fmt))

    def save_weights(self, path: str | os.PathLike, **extra) -> None:
        """Write parameters to ``.npz`` with a JSON header (see :mod:`.weights_npz`)."""
        from . import weights_npz

        weights_npz.write(path, self, **extra)

    def __repr__(self) -> str:
        return (f"<SRModel {self.name} x{self.scale} {self.config} backend={self.backend.name} "
                f"dtype={self.dtype} params={self.num_params():,}>")
