"""``SRModel``: a layer graph plus the pre- and post-processing of a super-resolution model.

The model wraps a :class:`backends.Network` (composition): ``forward``/``backward``/
``update``/``params`` act on the network, which sees normalised images; ``super_resolve``
takes and returns uint8 images.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

from backends import Network
from backends._heap import release_freed_memory
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
        The network (normalised input to normalised output).
    arch : str
        ``"edsr"``, ``"wdsr_a"``, ``"wdsr_b"``.
    config : dict
        The builder's keyword arguments (stored in saved weights, checked on load).
    scale : int
        The upscaling factor.
    mean : sequence of 3 floats
        Per-channel mean in [0, 255].
    norm : float
        Divisor after subtracting the mean (1 for EDSR, 127.5 for WDSR).
    pad : int
        Symmetric input padding the network expects on every side.
    name : str, optional
        The model's name (default: ``arch``); presets set their own.

    Examples
    --------
    >>> import numpy as np
    >>> from layerbench.models import pretrained
    >>> model = pretrained("edsr_small_x2")
    >>> model.scale, model.arch
    (2, 'edsr')
    >>> model.super_resolve(np.full((6, 5, 3), 128, np.uint8)).shape
    (12, 10, 3)
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
        """Network forward on normalised NHWC input (see :meth:`normalise`).

        Parameters
        ----------
        x : numpy.ndarray
            Normalised NHWC input in the model dtype.
        training : bool, default False
            Keep what ``backward`` needs.

        Returns
        -------
        numpy.ndarray
            Normalised NHWC output, ``scale`` times larger.
        """
        return self.net.forward(x, training=training)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Backpropagate ``dy = dL/dy`` through the network.

        Parameters
        ----------
        dy : numpy.ndarray
            Gradient of the loss with respect to the last ``forward`` output.

        Returns
        -------
        numpy.ndarray
            ``dL/dx`` for the last ``forward`` input; weight gradients are kept for ``grads``.
        """
        return self.net.backward(dy)

    def update(self, optimizer) -> None:
        """Apply one ``optimizer`` step to every parameter from its gradient.

        Parameters
        ----------
        optimizer : backends.protocol.Optimizer
            The optimizer (its slots persist across calls).
        """
        self.net.update(optimizer)

    def params(self) -> dict[str, np.ndarray]:
        """The parameters by layer-qualified name (the arrays themselves, not copies).

        Returns
        -------
        dict of str to numpy.ndarray
            Every parameter of the network.
        """
        return self.net.params()

    def grads(self) -> dict[str, np.ndarray]:
        """The gradients of the last ``backward``, keyed like ``params``.

        Returns
        -------
        dict of str to numpy.ndarray
            ``dL/dparam`` summed over the batch.
        """
        return self.net.grads()

    def num_params(self) -> int:
        """Total number of parameter elements.

        Returns
        -------
        int
            Sum of the sizes of all parameter arrays.
        """
        return self.net.num_params()

    def load_params(self, p: Mapping[str, np.ndarray], *, strict: bool = True) -> None:
        """Set parameters by layer-qualified name, all or nothing.

        Parameters
        ----------
        p : Mapping of str to numpy.ndarray
            Parameters keyed like :meth:`params`.
        strict : bool, default True
            Require exactly the model's keys (see ``backends.network.Network.load_params``).

        Raises
        ------
        WeightsError, NonFiniteError
            A key is missing or unknown, a shape does not fit, or a value is not finite;
            nothing is assigned.
        """
        self.net.load_params(p, strict=strict)

    def summary(self) -> str:
        """One line per node (name, layer, inputs, output shape, parameter count) and a total.

        Returns
        -------
        str
            The table, as ``backends.network.Network.summary`` gives it.
        """
        return self.net.summary()

    def receptive_radius(self) -> int:
        """Receptive half-width in LR pixels (the tile overlap that makes tiling exact).

        Returns
        -------
        int
            Pixels of context one output pixel reads on each side.
        """
        return graph.receptive_radius(self.net)

    def to_onnx(self, path=None):
        """Export this model with its weights and normalisation to ONNX
        (:func:`layerbench.onnx_export.model_to_onnx`).

        Parameters
        ----------
        path : str or os.PathLike, optional
            The ``.onnx`` file to write.

        Returns
        -------
        onnx.ModelProto
        """
        from layerbench.onnx_export import model_to_onnx

        return model_to_onnx(self, path)

    # -- normalisation ---------------------------------------------------------------------
    def normalise(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / norm`` for NHWC ``x`` in [0, 255], in the model dtype.

        Padded symmetrically by ``pad`` pixels when the model uses valid border
        convolutions.

        Parameters
        ----------
        x : numpy.ndarray
            NHWC image(s) in [0, 255], any real dtype.

        Returns
        -------
        numpy.ndarray
            The network's input, C-contiguous.
        """
        xn = ((np.asarray(x, dtype=np.float64) - self.mean) / self.norm).astype(self.dtype)
        if self.pad:
            p = self.pad
            xn = np.pad(xn, ((0, 0), (p, p), (p, p), (0, 0)), mode="symmetric")
        return np.ascontiguousarray(xn)

    def denormalise(self, y: np.ndarray) -> np.ndarray:
        """Inverse of the normalisation, in [0, 255] units (not clipped).

        Parameters
        ----------
        y : numpy.ndarray
            The network's NHWC output.

        Returns
        -------
        numpy.ndarray
            ``y norm + mean`` in float64, from the network's buffer pool (reused by the
            next call once no array refers to it).
        """
        # From the pool, not fresh: a fresh 66 MB array (WDSR x4 at 510x339) costs 6 ms when
        # the kernel has just freed pages to give and ~0.4 s when it must fault pages in from
        # the host of a VM that reclaims free memory (free page reporting).
        out = self.net.buffers.empty(y.shape, np.float64, slack=1.25)  # the caller keeps it
        np.multiply(y, self.norm, out=out, dtype=np.float64)
        out += self.mean
        return out

    # -- inference -------------------------------------------------------------------------
    def tiling_plan(self, shape, *, tile: int | None = None, overlap: int | None = None,
                    memory_budget: int | None = inference.MEMORY_BUDGET,
                    band_bytes: int = inference.BAND_BYTES) -> inference.TilePlan:
        """How :meth:`predict` runs an NHWC input of ``shape`` (LR, unpadded).

        ``tile`` (an int, LR pixels) forces whole-model tiles with ``overlap`` pixels of
        context (default: the receptive radius, which makes the result equal to the
        untiled one). Otherwise ``memory_budget`` (bytes of activations and convolution
        workspace; ``None``: unbounded) picks the plan of least recomputed arithmetic
        (:func:`.inference.plan`): untiled whenever it fits.

        Parameters
        ----------
        shape : tuple of int
            NHWC shape of the LR input.
        tile : int, optional
            Force whole-model tiles of this size (LR pixels).
        overlap : int, optional
            Context around each forced tile (default: :meth:`receptive_radius`).
        memory_budget : int or None, default ``inference.MEMORY_BUDGET``
            Bytes the plan may use; None for no bound.
        band_bytes : int, default ``inference.BAND_BYTES``
            Largest convolution workspace of one row band.

        Returns
        -------
        layerbench.models.inference.TilePlan
            ``kind`` is ``"untiled"``, ``"tiled"`` or a split at a cut; ``recompute`` is the
            arithmetic over the untiled run's.

        Raises
        ------
        ValueError, TypeError
            An integer argument is out of range or not an integer.
        """
        _check_int("tile", tile, 1, none=True)
        _check_int("overlap", overlap, 0, none=True)
        _check_int("memory_budget", memory_budget, 1, none=True)
        _check_int("band_bytes", band_bytes, 1)
        n, h, w, c = shape
        if tile is not None:
            overlap = self.receptive_radius() if overlap is None else overlap
            area = sum((min(h, b + overlap) - max(0, a - overlap))
                       for a, b in inference.tiles(h, tile)) * sum(
                (min(w, b + overlap) - max(0, a - overlap)) for a, b in inference.tiles(w, tile))
            return inference.TilePlan("tiled", (tile, tile), overlap, None, 0, area / (h * w))
        if memory_budget is None or self.net is None:
            return inference.TilePlan("untiled")
        # around the network: the float64 and model-dtype copies of the input, and the
        # float32 output with its float64 de-normalised copy (rounded and clipped in
        # place) and one float64 temporary of slack
        hr = n * h * w * self.scale**2 * 3
        reserve = n * (h + 2 * self.pad) * (w + 2 * self.pad) * c * 12 + hr * (4 + 8 * 2)
        return inference.plan(self.net, (n, h + 2 * self.pad, w + 2 * self.pad, c),
                              radius=self.receptive_radius(), shrink=self.pad,
                              budget=memory_budget, band_bytes=band_bytes, reserve=reserve)

    def predict(self, x: np.ndarray, *, tile: int | None = None, overlap: int | None = None,
                band_bytes: int = inference.BAND_BYTES,
                memory_budget: int | None = None, progress=None) -> np.ndarray:
        """Float HR image(s) in [0, 255] units for NHWC ``x`` in [0, 255], unclipped.

        Tiling as in :meth:`tiling_plan` (default here: untiled, no budget); convolutions
        always run in row bands of at most ``band_bytes`` of im2col workspace. The plan
        used is kept in ``self.last_plan`` (its ``recompute`` is the tiling tax). The
        network's buffer pool keeps up to ``memory_budget`` bytes of layer outputs, kernel
        scratch and results for the next call (everything the call used with no budget;
        ``self.net.buffers.clear()`` gives it back).
        ``progress`` (optional) is called as ``progress(done, total)`` after each tile (once,
        ``(1, 1)``, when the plan is untiled).

        Parameters
        ----------
        x : numpy.ndarray
            NHWC LR image(s) with 3 channels, in [0, 255].
        tile, overlap, memory_budget, band_bytes
            As in :meth:`tiling_plan`.
        progress : callable, optional
            Called as ``progress(done, total)``.

        Returns
        -------
        numpy.ndarray
            Float64 NHWC HR image(s), ``scale`` times larger, not clipped.

        Raises
        ------
        ShapeError
            ``x`` is not (N, H, W, 3) with N, H, W >= 1.
        """
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[3] != 3 or 0 in x.shape:
            raise ShapeError(expected("x.shape", "(N, H, W, 3) with N, H, W >= 1", x.shape))
        plan = self.tiling_plan(x.shape, tile=tile, overlap=overlap,
                                memory_budget=memory_budget, band_bytes=band_bytes)
        self.last_plan = plan
        with self.net.buffers.budget(memory_budget):
            return self.denormalise(self._run(x, plan, band_bytes, progress))

    def _run(self, x, plan, band_bytes, progress):
        """The network's output for ``x`` under ``plan`` (see :meth:`predict`)."""
        xn = self.normalise(x)
        if plan.kind == "untiled":
            y = self.net.predict(xn, band_bytes=band_bytes)
            if progress is not None:
                progress(1, 1)
            return y
        if plan.kind == "tiled":
            return inference.run_tiled(partial(self.net.predict, band_bytes=band_bytes), xn,
                                       scale=self.scale, shrink=self.pad, tile=plan.tile,
                                       overlap=plan.overlap, out_channels=3,
                                       progress=progress)
        head, tail = self.net.split(plan.cut)
        mid = head.predict(xn, band_bytes=band_bytes)
        del xn
        return inference.run_tiled(partial(tail.predict, band_bytes=band_bytes), mid,
                                   scale=self.scale * x.shape[1] // mid.shape[1], shrink=0,
                                   tile=plan.tile, overlap=plan.overlap, out_channels=3,
                                   progress=progress)

    def super_resolve(self, image: np.ndarray, *, tile: int | None = None,
                      overlap: int | None = None, band_bytes: int = inference.BAND_BYTES,
                      memory_budget: int | None = inference.MEMORY_BUDGET) -> np.ndarray:
        """Super-resolve one uint8 image (H x W x 3, or H x W grey replicated to RGB).

        Returns uint8 ``(scale H) x (scale W) x 3``: the model output clipped to [0, 255]
        and rounded half to even. By default the image runs untiled unless its working set
        (activations and convolution workspace, :func:`.inference.working_set`) exceeds
        ``memory_budget`` (default :data:`.inference.MEMORY_BUDGET`, 896 MiB); then the plan
        of least recomputed arithmetic under the budget runs (``self.last_plan.recompute``
        says how much). ``tile`` forces whole-model tiles; see :meth:`tiling_plan`.

        Parameters
        ----------
        image : numpy.ndarray
            uint8 image, (H, W), (H, W, 1) or (H, W, 3).
        tile : int, optional
            Force whole-model tiles of this size (LR pixels).
        overlap : int, optional
            Context around each forced tile (default: the receptive radius: exact).
        band_bytes : int, default ``inference.BAND_BYTES``
            Largest convolution workspace of one row band.
        memory_budget : int or None, default ``inference.MEMORY_BUDGET``
            Bytes of activations and workspace the run may use; None for no bound.

        Returns
        -------
        numpy.ndarray
            uint8 ``(scale H, scale W, 3)``.

        Raises
        ------
        TypeError
            ``image`` is not uint8 (``layerbench.models.upscale.upscale_array`` converts).
        ShapeError
            ``image`` has another shape, or an empty axis.

        Examples
        --------
        >>> import numpy as np
        >>> from layerbench.models import pretrained
        >>> model = pretrained("edsr_small_x2")
        >>> grey = np.tile(np.arange(0, 256, 32, dtype=np.uint8), (8, 1))  # 8 x 8 ramp
        >>> hr = model.super_resolve(grey)
        >>> hr.shape, hr.dtype
        ((16, 16, 3), dtype('uint8'))
        >>> bool(np.array_equal(hr, model.super_resolve(grey, tile=4)))  # tiling is exact
        True
        """
        image = np.asarray(image)
        if image.dtype != np.uint8:
            raise TypeError(expected("image.dtype", "uint8 (layerbench.models.upscale."
                                     "upscale_array converts other dtypes and back)",
                                     image.dtype))
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
            image = np.repeat(image.reshape(image.shape[0], image.shape[1], 1), 3, axis=2)
        if image.ndim != 3 or image.shape[2] != 3 or 0 in image.shape:
            raise ShapeError(expected("image.shape", "(H, W), (H, W, 1) or (H, W, 3) with "
                                      "H, W >= 1 (layerbench.models.upscale.upscale_array "
                                      "takes alpha channels too)", image.shape))
        y = self.predict(image[None], tile=tile, overlap=overlap, band_bytes=band_bytes,
                         memory_budget=memory_budget)[0]
        np.rint(y, out=y)
        return np.clip(y, 0, 255, out=y).astype(np.uint8)

    # -- weights ---------------------------------------------------------------------------
    def load_weights(self, path: str | os.PathLike) -> None:
        """Load weights; the format follows the suffix: ``.pt`` (EDSR-PyTorch state_dict,
        read without torch), ``.h5`` (Keras), ``.npz`` (ours, with a JSON header).

        All or nothing: the whole file is read and checked before any parameter is assigned;
        on any error the model is unchanged.

        Parameters
        ----------
        path : str or os.PathLike
            The weights file.

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
        release_freed_memory()  # the file's arrays, now copied into the layers (see backends._heap)

    def save_weights(self, path: str | os.PathLike, **extra) -> None:
        """Write parameters to ``.npz`` with a JSON header (see :mod:`.weights_npz`).

        Parameters
        ----------
        path : str or os.PathLike
            The file to write.
        **extra
            More JSON-serialisable header entries (e.g. training facts).
        """
        from . import weights_npz

        weights_npz.write(path, self, **extra)

    def __repr__(self) -> str:
        return (f"<SRModel {self.name} x{self.scale} {self.config} backend={self.backend.name} "
                f"dtype={self.dtype} params={self.num_params():,}>")


def _check_int(name: str, value, low: int, *, none: bool = False) -> None:
    """``value`` is an integer >= ``low`` (or None when ``none``), else ValueError/TypeError
    naming ``name``."""
    if value is None and none:
        return
    want = f"an integer >= {low}" + (" or None" if none else "")
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(expected(name, want, value))
    if value < low:
        raise ValueError(expected(name, want, value))
