"""PSNR and SSIM through scikit-image, with every convention explicit and recorded.

Conventions (returned with every score by :func:`conventions`):

* ``data_range`` — 255 for uint8 images (the peak in PSNR = 10 log10(peak^2 / MSE)).
* ``ssim_range`` — SSIM's ``data_range`` (L in C1 = (K1 L)^2, C2 = (K2 L)^2); the same as
  ``data_range`` unless given. The thesis protocol scores [0, 1] floats with PSNR range 1 and
  SSIM range 2 (scikit-image's 2020 default for floats: the dtype span -1..1).
* ``shave`` — pixels removed from each border of both images before scoring (0 in the thesis).
* ``channel`` — ``R``/``G``/``B``: that channel of the reconstruction against the reference
  channel (for a grey reference, the grey image); ``all``: scikit-image on the whole HxWx3 image
  (PSNR over all pixels and channels; SSIM with ``channel_axis=-1``, i.e. the mean of the
  per-channel SSIMs).
* SSIM uses scikit-image's defaults: 7x7 uniform window, K1=0.01, K2=0.03, population
  sample covariance (``use_sample_covariance=True``).

Brain masks (:func:`brain_mask`) are a BET-like skull strip of one slice: BET's 2-98 %
intensity threshold, binary opening, largest connected component, hole filling. Masked scores
use the pixels of a shared mask: PSNR from the MSE over those pixels, SSIM as the mean of
scikit-image's SSIM map over them.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage as ndi
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from backends.errors import expected

CHANNELS = ("R", "G", "B")
SSIM_WINDOW = 7


def conventions(*, data_range: float, shave: int) -> dict[str, object]:
    """What every score row records next to its numbers.

    Parameters
    ----------
    data_range : float
        PSNR's peak value.
    shave : int
        Pixels removed from each border before scoring.

    Returns
    -------
    dict
        ``data_range``, ``shave``, ``ssim_window`` and ``metric_lib``.

    Examples
    --------
    >>> conventions(data_range=255, shave=0)
    {'data_range': 255.0, 'shave': 0, 'ssim_window': 7, 'metric_lib': 'skimage.metrics'}
    """
    return {"data_range": float(data_range), "shave": int(shave),
            "ssim_window": SSIM_WINDOW, "metric_lib": "skimage.metrics"}


def _prepare(reference: np.ndarray, test: np.ndarray, shave: int) -> tuple[np.ndarray, np.ndarray]:
    if reference.shape[:2] != test.shape[:2]:
        raise ValueError(expected("test", f"an image of spatial size {reference.shape[:2]}",
                                  test.shape))
    if not isinstance(shave, int | np.integer) or shave < 0:
        raise ValueError(expected("shave", "an integer >= 0", shave))
    if 2 * shave >= min(reference.shape[:2]):
        raise ValueError(expected("shave", f"< {min(reference.shape[:2]) // 2}", shave))
    if shave:
        reference = reference[shave:-shave, shave:-shave]
        test = test[shave:-shave, shave:-shave]
    ref = reference[..., None] if reference.ndim == 2 else reference
    tst = test[..., None] if test.ndim == 2 else test
    if ref.shape[2] == 1 and tst.shape[2] > 1:
        ref = np.repeat(ref, tst.shape[2], axis=2)
    if ref.shape != tst.shape:
        raise ValueError(expected("test", f"channels matching the reference {reference.shape}",
                                  test.shape))
    return ref, tst


def psnr(reference: np.ndarray, test: np.ndarray, *, data_range: float = 255) -> float:
    """Peak signal-to-noise ratio, ``PSNR = 10 log10(data_range^2 / MSE)`` (scikit-image).

    Parameters
    ----------
    reference : numpy.ndarray
        Ground truth, HxW or HxWxC.
    test : numpy.ndarray
        Image scored, same shape.
    data_range : float, default 255
        The peak value (255 for uint8 images).

    Returns
    -------
    float
        In dB; ``inf`` for identical images.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.zeros((4, 4), np.uint8)
    >>> round(psnr(ref, ref + 1), 2)    # MSE 1: 10 log10(255^2)
    48.13
    >>> psnr(ref, ref)
    inf
    """
    if np.array_equal(reference, test):
        return float("inf")
    return float(peak_signal_noise_ratio(reference, test, data_range=data_range))


def ssim(reference: np.ndarray, test: np.ndarray, *, data_range: float = 255) -> float:
    """Mean SSIM (scikit-image, 7x7 window); channels averaged when the arrays are HxWxC.

    Parameters
    ----------
    reference : numpy.ndarray
        Ground truth, HxW or HxWxC, at least 7x7.
    test : numpy.ndarray
        Image scored, same shape.
    data_range : float, default 255
        SSIM's ``L`` in ``C1 = (K1 L)^2``, ``C2 = (K2 L)^2``.

    Returns
    -------
    float
        The mean of the SSIM map, 1.0 for identical images.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.arange(64, dtype=np.uint8).reshape(8, 8)
    >>> ssim(img, img)
    1.0
    """
    axis = -1 if reference.ndim == 3 else None
    return float(structural_similarity(reference, test, data_range=data_range,
                                       channel_axis=axis, win_size=SSIM_WINDOW))


def score_channels(reference: np.ndarray, test: np.ndarray, *, data_range: float = 255,
                   shave: int = 0, mask: np.ndarray | None = None,
                   ssim_range: float | None = None) -> list[dict[str, object]]:
    """Scores of ``test`` against ``reference`` per channel and on the whole image.

    Parameters
    ----------
    reference : uint8 HxW or HxWx3
        Ground truth (a grey reference is compared with every channel of ``test``).
    test : uint8 HxWx3 (or HxW)
        The image scored, the same spatial size.
    data_range : float, default 255
        PSNR's peak value (and SSIM's, unless ``ssim_range`` is given).
    shave : int, default 0
        Pixels removed from each border of both images first.
    mask : bool HxW, optional
        When given, ``psnr_masked`` and ``ssim_masked`` are added (scores inside the mask).
    ssim_range : float, optional
        SSIM's data range when it differs from ``data_range`` (the module conventions).

    Returns
    -------
    list of dict
        One row per channel (``R``, ``G``, ``B`` then ``all``) with ``psnr`` and ``ssim``;
        a grey ``test`` gives the single row ``all``.

    Raises
    ------
    ValueError
        The sizes or channels do not match, or ``shave`` is negative or too large.

    Examples
    --------
    >>> import numpy as np
    >>> ref = np.full((8, 8, 3), 100, np.uint8)
    >>> test = ref.copy(); test[..., 0] += 1
    >>> [(r["channel"], round(r["psnr"], 2)) for r in score_channels(ref, test)]
    [('R', 48.13), ('G', inf), ('B', inf), ('all', 52.9)]
    """
    ref, tst = _prepare(reference, test, shave)
    sr = data_range if ssim_range is None else ssim_range
    m = None
    if mask is not None:
        m = mask[shave:-shave, shave:-shave] if shave else mask
        if m.shape != ref.shape[:2]:
            raise ValueError(expected("mask", f"a boolean mask of shape {reference.shape[:2]}",
                                      mask.shape))
    if tst.shape[2] == 1:  # a grey reconstruction (the baselines on MRI): one row
        names, ref, tst = (), ref[..., 0], tst[..., 0]
    else:
        names = CHANNELS if tst.shape[2] == 3 else tuple(map(str, range(tst.shape[2])))
    rows = []
    maps = _ssim_maps(ref, tst, sr, len(names))
    for c, name in enumerate((*names, "all")):
        r = ref[..., c] if name != "all" else ref
        t = tst[..., c] if name != "all" else tst
        mssim, smap = maps[c]
        row = {"channel": name, "psnr": psnr(r, t, data_range=data_range), "ssim": mssim}
        if m is not None:
            row.update(_masked(r, t, m, data_range=data_range, smap=smap))
        rows.append(row)
    return rows


def _ssim_maps(ref: np.ndarray, tst: np.ndarray, ssim_range: float, channels: int
               ) -> list[tuple[float, np.ndarray]]:
    """``(mean SSIM, SSIM map)`` per channel and, last, for the whole image.

    One scikit-image call per channel (``full=True``) serves the channel's SSIM, its masked
    SSIM and the whole image's: ``channel_axis=-1`` is scikit-image's loop over the same
    per-channel calls, storing the means in an array of the map's dtype and averaging them,
    which is repeated here bit for bit (it halved the scoring time of the MRI main job,
    where every SR output was scored channel by channel, then again as a whole, each twice
    with the mask).
    """
    if channels == 0:  # grey: the image is its only channel
        mssim, smap = structural_similarity(ref, tst, data_range=ssim_range,
                                            win_size=SSIM_WINDOW, full=True)
        return [(float(mssim), smap)]
    per = [structural_similarity(ref[..., c], tst[..., c], data_range=ssim_range,
                                 win_size=SSIM_WINDOW, full=True) for c in range(channels)]
    dtype = per[0][1].dtype
    whole = float(np.array([m for m, _ in per], dtype=dtype).mean())
    return [(float(m), s) for m, s in per] + [(whole, np.stack([s for _, s in per], axis=2))]


def masked_scores(reference: np.ndarray, test: np.ndarray, mask: np.ndarray, *,
                  data_range: float = 255, ssim_range: float | None = None
                  ) -> dict[str, float]:
    """PSNR and SSIM restricted to ``mask``.

    PSNR = 10 log10(data_range^2 / mean((ref - test)^2 over mask pixels [and channels]));
    SSIM = mean of the full SSIM map (channel-averaged for HxWxC) over mask pixels.
    An empty mask gives NaN for both.

    Parameters
    ----------
    reference : numpy.ndarray
        Ground truth, HxW or HxWxC.
    test : numpy.ndarray
        Image scored, same shape.
    mask : numpy.ndarray
        Boolean HxW mask of the pixels scored.
    data_range : float, default 255
        PSNR's peak value (and SSIM's, unless ``ssim_range`` is given).
    ssim_range : float, optional
        SSIM's data range.

    Returns
    -------
    dict of str to float
        ``psnr_masked`` and ``ssim_masked``.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        return _masked(reference, test, mask, data_range=data_range, smap=None)
    axis = -1 if reference.ndim == 3 else None
    sr = data_range if ssim_range is None else ssim_range
    _, smap = structural_similarity(reference, test, data_range=sr, channel_axis=axis,
                                    win_size=SSIM_WINDOW, full=True)
    return _masked(reference, test, mask, data_range=data_range, smap=smap)


def _masked(reference: np.ndarray, test: np.ndarray, mask: np.ndarray, *, data_range: float,
            smap: np.ndarray | None) -> dict[str, float]:
    """:func:`masked_scores` from the SSIM map ``smap`` of ``reference`` and ``test``."""
    if not mask.any():
        return {"psnr_masked": float("nan"), "ssim_masked": float("nan")}
    r = reference.astype(np.float64)[mask]
    t = test.astype(np.float64)[mask]
    mse = float(np.mean((r - t) ** 2))
    p = float("inf") if mse == 0 else float(10 * np.log10(data_range**2 / mse))
    if smap.ndim == 3:
        smap = smap.mean(axis=2)
    return {"psnr_masked": p, "ssim_masked": float(smap[mask].mean())}


def post_bet(reference: np.ndarray, test: np.ndarray, mask: np.ndarray, *,
             data_range: float, ssim_range: float | None = None) -> list[dict[str, object]]:
    """The thesis' "post-BET" scores: ``mask`` (the reference's brain mask) applied to both
    images (background set to 0), then the whole image scored as :func:`score_channels`.

    Zeroing the background of both images makes it agree exactly, so these scores are higher
    than the unmasked ones; they are not scores *inside* the mask (``masked_scores``).

    Parameters
    ----------
    reference : numpy.ndarray
        Ground truth, HxW.
    test : numpy.ndarray
        Image scored, HxW or HxWx3.
    mask : numpy.ndarray
        Boolean HxW brain mask of the reference.
    data_range : float
        PSNR's peak value (and SSIM's, unless ``ssim_range`` is given).
    ssim_range : float, optional
        SSIM's data range.

    Returns
    -------
    list of dict
        The rows of :func:`score_channels` on the masked images.
    """
    mask = np.asarray(mask, dtype=bool)
    m3 = mask if test.ndim == 2 else mask[..., None]
    return score_channels(np.where(mask, reference, 0), np.where(m3, test, 0),
                          data_range=data_range, ssim_range=ssim_range)


def brain_mask(img: np.ndarray, *, fraction: float = 0.1, opening: int = 2) -> np.ndarray:
    """A BET-like brain/head mask of one grey slice (bool, same HxW).

    Steps: BET's intensity threshold ``t = p2 + fraction (p98 - p2)`` (``p2``, ``p98`` the
    2nd and 98th percentiles of the slice; Smith 2002 uses fraction 0.1); binary opening with
    a disk of radius ``opening`` to cut thin bridges; keep the largest connected component;
    fill holes (ventricles, dark CSF). A constant slice gives an all-False mask.

    Parameters
    ----------
    img : numpy.ndarray
        One slice, HxW (or HxWxC, averaged over channels).
    fraction : float, default 0.1
        BET's fractional intensity threshold.
    opening : int, default 2
        Radius of the opening's disk; 0 skips the opening.

    Returns
    -------
    numpy.ndarray
        Boolean HxW mask.

    Examples
    --------
    >>> import numpy as np
    >>> img = np.zeros((9, 9)); img[2:7, 2:7] = 1.0
    >>> int(brain_mask(img, opening=0).sum())
    25
    """
    from skimage.morphology import disk

    g = img if img.ndim == 2 else img.mean(axis=2)
    p2, p98 = np.percentile(g, [2, 98])
    if p98 <= p2:
        return np.zeros(g.shape, dtype=bool)
    fg = g > p2 + fraction * (p98 - p2)
    if opening:
        fg = ndi.binary_opening(fg, structure=disk(opening).astype(bool))
    labels, n = ndi.label(fg)
    if n == 0:
        return fg
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return ndi.binary_fill_holes(labels == int(np.argmax(sizes)))


def iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union ``|a & b| / |a | b|`` of two boolean masks (1.0 if both empty).

    Parameters
    ----------
    a, b : numpy.ndarray
        Masks of the same shape (cast to bool).

    Returns
    -------
    float
        In [0, 1].

    Raises
    ------
    ValueError
        The shapes differ.

    Examples
    --------
    >>> print(iou([True, True, False], [True, False, False]))
    0.5
    """
    a = np.asarray(a, dtype=bool)
    b = np.asarray(b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(expected("b", f"a mask of shape {a.shape}", b.shape))
    union = np.count_nonzero(a | b)
    return 1.0 if union == 0 else np.count_nonzero(a & b) / union


__all__ = ["brain_mask", "conventions", "iou", "masked_scores", "mean_squared_error",
           "post_bet", "psnr", "score_channels", "ssim"]
