"""Brain MRI volumes: NIfTI / NRRD files of several subjects, or the embedded MNI152 template.

Naming rule (``find_subjects``). Under ``dataset.root``, every file ending in ``.nii``,
``.nii.gz``, ``.nrrd`` or ``.nhdr`` whose name holds the weighting as a separate token —
``T1`` or ``T2`` (case-insensitive, optionally ``T1w``/``T2w``), delimited by ``_``, ``-``,
``.`` or the ends of the name — is a volume of that weighting. The subject is the name of the
file's directory relative to ``root`` when the file sits in a sub-directory
(``case01015/T1.nrrd``, ``case01015/case01015_t2w.nii.gz``), otherwise the file name with the
weighting token and extension removed (``case01015_T1.nii.gz`` -> ``case01015``). Two files with
the same subject and weighting are an error, as is a subject lacking a requested weighting.

Intensities are mapped to uint8 per volume by a recorded rule (:func:`to_uint8`); slices are
``rot90(take(volume, i, axis))`` (radiological display orientation for RAS volumes) cropped to a
multiple of ``modulo`` so every scale shares one HR slice.

Embedded default: the MNI ICBM152 2009c T1 template shipped inside nilearn (1 mm,
197x233x189) as subject ``mni152`` T1, and a **synthetic** T2-weighted-like volume made from
the grey/white-matter probability maps beside it (:func:`synthetic_t2`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DataError

EXTENSIONS = (".nii.gz", ".nii", ".nrrd", ".nhdr")
WEIGHTS = ("T1", "T2")
_TOKEN = re.compile(r"(?:^|(?<=[_\-.]))(t1|t2)w?(?=$|[_\-.])", re.IGNORECASE)
EMBEDDED_SUBJECT = "mni152"
INTENSITY_RULES = ("percentile", "minmax")


@dataclass(frozen=True)
class Volume:
    """A uint8 (or [0, 1] float64) volume with where it came from.

    Parameters
    ----------
    subject : str
        The subject's name.
    weight : {"T1", "T2"}
        The weighting.
    data : numpy.ndarray
        3-D, uint8 or float64 in [0, 1].
    source : str
        The file's path, or ``"nilearn:..."`` for the embedded template.
    synthetic : bool
        True for the embedded T2 made by :func:`synthetic_t2`.
    intensity_rule : str
        How the intensities were mapped (:func:`to_uint8`, :func:`to_unit`).
    """

    subject: str
    weight: str
    data: np.ndarray  # uint8 or float64 in [0, 1], 3-D
    source: str
    synthetic: bool
    intensity_rule: str


def _strip_ext(name: str) -> str | None:
    low = name.lower()
    for ext in EXTENSIONS:
        if low.endswith(ext):
            return name[: -len(ext)]
    return None


def find_subjects(root: str | Path, weights: Sequence[str] = WEIGHTS) -> dict[str, dict[str, Path]]:
    """Map subject -> weighting -> file under ``root`` by the naming rule of this module.

    Parameters
    ----------
    root : str or Path
        The directory searched (recursively).
    weights : sequence of str, default ("T1", "T2")
        The weightings every subject must have.

    Returns
    -------
    dict
        ``{subject: {weighting: path}}``.

    Raises
    ------
    DataError
        ``root`` is missing or holds no volume, a subject has two files of one weighting,
        or lacks a requested weighting (the message says which and how to select).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("case01_T1.nii.gz", "case01_t2w.nii.gz", "notes.txt"):
    ...     _ = (root / name).write_bytes(b"")
    >>> {s: sorted(w) for s, w in find_subjects(root).items()}
    {'case01': ['T1', 'T2']}
    >>> import shutil; shutil.rmtree(root)
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: expected a directory of MRI volumes (dataset.root), "
                        "received a missing path")
    found: dict[str, dict[str, Path]] = {}
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        stem = _strip_ext(path.name)
        if stem is None:
            continue
        tokens = _TOKEN.findall(stem)
        if len(tokens) != 1:
            continue  # no weighting token, or an ambiguous name: not a volume of ours
        weight = tokens[0].upper()
        rel = path.relative_to(root)
        if len(rel.parts) > 1:
            subject = rel.parts[0]
        else:
            subject = _TOKEN.sub("", stem).strip("_-.") or stem
        by_w = found.setdefault(subject, {})
        if weight in by_w:
            raise DataError(f"{path}: subject {subject!r} already has a {weight} volume "
                            f"({by_w[weight]}); expected one file per subject and weighting")
        by_w[weight] = path
    if not found:
        raise DataError(f"{root}: expected NIfTI/NRRD files named with a T1/T2 token, "
                        "received an empty directory (no matching volume)")
    for subject, by_w in found.items():
        missing = [w for w in weights if w not in by_w]
        if missing:
            have = [w for w in weights if w in by_w] or sorted(by_w)
            raise DataError(f"subject {subject!r} under {root}: expected volumes for "
                            f"{list(weights)}, missing {missing} (found {sorted(by_w)}); "
                            f"to use only what is there set dataset.weights=[{','.join(have)}]")
    return found


def load_volume(path: str | Path) -> np.ndarray:
    """Read a NIfTI or NRRD file as a float64 3-D array (a trailing singleton axis is dropped).

    Parameters
    ----------
    path : str or Path
        A ``.nii``, ``.nii.gz``, ``.nrrd`` or ``.nhdr`` file.

    Returns
    -------
    numpy.ndarray
        Float64, 3-D, finite.

    Raises
    ------
    DataError
        The file is missing, unreadable/corrupt, not 3-D, empty or not finite.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: expected a NIfTI/NRRD volume, received a missing path")
    name = path.name.lower()
    try:
        if name.endswith((".nrrd", ".nhdr")):
            import nrrd

            data, _ = nrrd.read(str(path))
        elif name.endswith((".nii", ".nii.gz")):
            import nibabel as nib

            data = np.asarray(nib.load(str(path)).dataobj)
        else:
            raise DataError(f"{path}: expected one of the extensions {EXTENSIONS}")
    except DataError:
        raise
    except Exception as err:  # every reader failure is reported the same way, with the file
        raise DataError(f"{path}: cannot read the volume, the file is corrupt or not "
                        f"NIfTI/NRRD ({type(err).__name__}: {err})") from err
    data = np.asarray(data)
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise DataError(f"{path}: expected a 3-D volume, received rank {data.ndim} "
                        f"with shape {data.shape}")
    if data.size == 0 or not np.issubdtype(data.dtype, np.number):
        raise DataError(f"{path}: expected a non-empty numeric volume, received shape "
                        f"{data.shape} dtype {data.dtype}")
    data = data.astype(np.float64)
    if not np.isfinite(data).all():
        raise DataError(f"{path}: expected finite intensities, the volume holds NaN/inf")
    return data


def to_uint8(volume: np.ndarray, rule: str = "percentile", low: float = 0.0,
             high: float = 99.5) -> tuple[np.ndarray, str]:
    """Map intensities to uint8 over the whole volume; return the array and the rule applied.

    ``percentile``: lo, hi = percentiles ``low``, ``high``; ``minmax``: lo, hi = min, max.
    Then ``round(255 * clip((v - lo) / (hi - lo), 0, 1))``.

    Parameters
    ----------
    volume : numpy.ndarray
        The raw intensities.
    rule : {"percentile", "minmax"}, default "percentile"
        How ``lo`` and ``hi`` are chosen.
    low, high : float, default 0.0 and 99.5
        The percentiles of the ``percentile`` rule.

    Returns
    -------
    data : numpy.ndarray
        uint8, same shape.
    rule : str
        The rule with its ``lo`` and ``hi``, for the records.

    Raises
    ------
    DataError
        Unknown ``rule``.

    Examples
    --------
    >>> data, rule = to_uint8(np.array([0.0, 1.0, 2.0]), "minmax")
    >>> data.tolist(), rule
    ([0, 128, 255], 'minmax: [0, 2] -> [0, 255]')
    """
    if rule == "percentile":
        lo, hi = np.percentile(volume, [low, high])
    elif rule == "minmax":
        lo, hi = float(volume.min()), float(volume.max())
    else:
        raise DataError(f"dataset.intensity.rule: expected one of {INTENSITY_RULES}, "
                        f"received {rule!r}")
    span = hi - lo if hi > lo else 1.0
    out = np.rint(255.0 * np.clip((volume - lo) / span, 0.0, 1.0)).astype(np.uint8)
    desc = (f"{rule}({low:g},{high:g})" if rule == "percentile" else rule)
    return out, f"{desc}: [{lo:.6g}, {hi:.6g}] -> [0, 255]"


def get_slice(volume: np.ndarray, index: int, axis: int, modulo: int = 1) -> np.ndarray:
    """``rot90(take(volume, index, axis))`` cropped bottom/right to a multiple of ``modulo``.

    Parameters
    ----------
    volume : numpy.ndarray
        3-D volume.
    index : int
        The slice, ``0 <= index < volume.shape[axis]``.
    axis : int
        The axis sliced.
    modulo : int, default 1
        The crop's multiple (the largest SR scale).

    Returns
    -------
    numpy.ndarray
        2-D, C-contiguous.

    Raises
    ------
    DataError
        ``index`` is out of range.

    Examples
    --------
    >>> get_slice(np.zeros((4, 5, 7)), 1, axis=0, modulo=2).shape   # rot90 of 5 x 7, cropped
    (6, 4)
    """
    if not 0 <= index < volume.shape[axis]:
        raise DataError(f"slice index: expected 0 <= index < {volume.shape[axis]} along axis "
                        f"{axis}, received {index}")
    # a view (np.take would copy a Fortran-ordered volume whole for every slice)
    s = np.rot90(volume[(slice(None),) * axis + (index,)])
    h, w = s.shape
    return np.ascontiguousarray(s[: h - h % modulo, : w - w % modulo])


def _nilearn_file(kind: str) -> Path:
    import nilearn

    path = (Path(nilearn.__file__).parent / "datasets" / "data"
            / f"mni_icbm152_{kind}_tal_nlin_sym_09a_converted.nii.gz")
    if not path.is_file():
        raise DataError(f"{path}: expected the MNI152 template shipped inside nilearn")
    return path


@functools.lru_cache(maxsize=2)
def _embedded_float(weight: str) -> np.ndarray:
    if weight == "T1":
        return load_volume(_nilearn_file("t1"))
    return synthetic_t2(load_volume(_nilearn_file("t1")), load_volume(_nilearn_file("gm")),
                        load_volume(_nilearn_file("wm")))


def synthetic_t2(t1: np.ndarray, gm: np.ndarray, wm: np.ndarray) -> np.ndarray:
    """A T2-weighted-like contrast from tissue maps (synthetic, not a measurement).

    With ``g``, ``w`` the GM/WM probabilities in [0, 1], ``b`` the smoothed filled brain
    envelope and ``c = clip(b - g - w, 0, 1)`` the cerebrospinal fluid left inside it:
    ``T2 = 1.0 c + 0.55 g + 0.25 w + 0.35 (1 - b) t1/max(t1)`` — CSF bright, WM dark, and the
    extra-cerebral tissue kept from the T1 at a low weight so the head outline is present.

    Parameters
    ----------
    t1 : numpy.ndarray
        The T1 volume.
    gm, wm : numpy.ndarray
        Grey- and white-matter probability maps, same shape.

    Returns
    -------
    numpy.ndarray
        Float64, same shape.
    """
    from scipy import ndimage as ndi

    g = gm / max(gm.max(), 1e-12)
    w = wm / max(wm.max(), 1e-12)
    brain = ndi.binary_fill_holes(ndi.binary_closing(g + w > 0.5, iterations=3))
    b = np.clip(ndi.gaussian_filter(brain.astype(np.float64), 1.0), 0.0, 1.0)
    c = np.clip(b - g - w, 0.0, 1.0)
    return 1.0 * c + 0.55 * g + 0.25 * w + 0.35 * (1.0 - b) * t1 / max(t1.max(), 1e-12)


def to_unit(volume: np.ndarray) -> tuple[np.ndarray, str]:
    """Min-max scale a volume to [0, 1] as float64 (the thesis' intensity rule):
    ``(v - min) / (max - min)``; return the array and the rule applied.

    Parameters
    ----------
    volume : numpy.ndarray
        The raw intensities.

    Returns
    -------
    data : numpy.ndarray
        Float64 in [0, 1].
    rule : str
        The rule with the original range, for the records.
    """
    lo, hi = float(volume.min()), float(volume.max())
    span = hi - lo if hi > lo else 1.0
    return (volume - lo) / span, f"minmax: [{lo:.6g}, {hi:.6g}] -> [0, 1] float"


def _source(kind: str, root: str | None, subject: str, weight: str
            ) -> tuple[np.ndarray, str, bool]:
    """The float volume of one subject/weighting, where it came from, and whether synthetic."""
    if weight not in WEIGHTS:
        raise DataError(f"dataset.weights: expected entries among {WEIGHTS}, received {weight!r}")
    if kind == "mni152":
        if subject != EMBEDDED_SUBJECT:
            raise DataError(f"dataset.subjects: the embedded set has only "
                            f"{EMBEDDED_SUBJECT!r}, received {subject!r}")
        src = "nilearn:mni152_t1" if weight == "T1" else "nilearn:mni152_gm_wm->synthetic_t2"
        return _embedded_float(weight), src, weight == "T2"
    files = find_subjects(root, [weight])
    if subject not in files:
        raise DataError(f"dataset.subjects: expected subjects among {sorted(files)} under "
                        f"{root}, received {subject!r}")
    return load_volume(files[subject][weight]), str(files[subject][weight]), False


def load_subject_volume(kind: str, root: str | None, subject: str, weight: str, *,
                        rule: str, low: float, high: float, intensity: str = "uint8") -> Volume:
    """One subject/weighting as a :class:`Volume` from the embedded set or a root.

    ``intensity="uint8"`` maps the volume to uint8 by ``rule`` (:func:`to_uint8`);
    ``intensity="float"`` min-max scales it to [0, 1] float64 (:func:`to_unit`, the thesis'
    rule; ``rule``, ``low`` and ``high`` are then unused).

    Parameters
    ----------
    kind : {"mni152", "mri_dir"}
        The embedded template, or volumes under ``root``.
    root : str or None
        The directory of volumes (``kind="mri_dir"``).
    subject : str
        The subject.
    weight : {"T1", "T2"}
        The weighting.
    rule, low, high
        As in :func:`to_uint8`.
    intensity : {"uint8", "float"}, default "uint8"
        The mapping of the intensities.

    Returns
    -------
    Volume
        The volume and its provenance.

    Raises
    ------
    DataError
        Unknown weighting, subject or ``intensity``, or an unreadable file.
    """
    raw, src, synthetic = _source(kind, root, subject, weight)
    if intensity == "float":
        data, desc = to_unit(raw)
    elif intensity == "uint8":
        data, desc = to_uint8(raw, rule, low, high)
    else:
        raise DataError(f"intensity: expected 'uint8' or 'float', received {intensity!r}")
    return Volume(subject, weight, data, src, synthetic, desc)


def subject_names(kind: str, root: str | None, subjects: Sequence[str] | None,
                  weights: Sequence[str]) -> list[str]:
    """Subjects a dataset config selects (used to plan shards).

    Parameters
    ----------
    kind : {"mni152", "mri_dir"}
        The dataset's kind.
    root : str or None
        The directory of volumes.
    subjects : sequence of str or None
        The selection; None for all.
    weights : sequence of str
        The weightings every subject must have.

    Returns
    -------
    list of str
        Names, in order.

    Raises
    ------
    DataError
        A selected subject is not there, or as :func:`find_subjects`.
    """
    if kind == "mni152":
        names = [EMBEDDED_SUBJECT]
    else:
        names = sorted(find_subjects(root, weights))
    if subjects is None:
        return names
    unknown = [s for s in subjects if s not in names]
    if unknown:
        raise DataError(f"dataset.subjects: expected subjects among {names}, received {unknown}")
    return list(subjects)
