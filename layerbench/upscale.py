"""``layerbench upscale``: super-resolve image files and NIfTI volumes with a shipped model.

Reads PNG, JPEG, TIFF (8/16-bit, float) and NIfTI (``.nii``, ``.nii.gz``); writes the same
format. Pixel types and channels are converted as in :mod:`layerbench.models.upscale`;
NIfTI volumes run slice by slice with the header's affine scaled
(:func:`~layerbench.models.upscale.scaled_affine`). A file that cannot be read raises
:class:`~layerbench.data.errors.DataError` (one line and exit status 2 on the command line).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

from layerbench.data.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
VOLUME_SUFFIXES = (".nii", ".nii.gz")
ALGOS = ("auto", "im2col", "winograd")


def suffix_of(path: str | os.PathLike) -> str:
    """The format suffix of ``path`` in lower case (``.nii.gz`` counts as one).

    Parameters
    ----------
    path : path-like

    Returns
    -------
    str
    """
    name = Path(path).name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as stored: ``H x W`` or ``H x W x C``, its own dtype.

    Parameters
    ----------
    path : path-like
        PNG, JPEG or TIFF.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    DataError
        Missing, unreadable, or another format.
    """
    path = Path(path)
    suffix = suffix_of(path)
    if not path.is_file():
        raise DataError(f"{path}: expected an image or NIfTI file, received a missing path")
    try:
        if suffix in (".tif", ".tiff"):
            import tifffile

            img = tifffile.imread(path)
        else:
            from PIL import Image

            with Image.open(path) as im:
                im.load()
                if im.mode == "P":
                    im = im.convert("RGBA" if "transparency" in im.info else "RGB")
                elif im.mode not in ("L", "LA", "RGB", "RGBA", "I;16", "I;16B", "F"):
                    im = im.convert("RGB")
                img = np.asarray(im)
                if im.mode.startswith("I;16"):
                    img = img.astype(np.uint16)
    except Exception as err:  # any decoder failure is the file's fault
        raise DataError(f"{path}: expected a readable {suffix.lstrip('.').upper()} image, "
                        f"the file is corrupt or not an image ({type(err).__name__})") from None
    if img.ndim == 3 and img.shape[0] in (3, 4) and img.shape[2] not in (1, 2, 3, 4):
        img = np.moveaxis(img, 0, 2)  # planar TIFF
    return np.ascontiguousarray(img)


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write ``image`` in the format of ``path``'s suffix (TIFF keeps any dtype).

    Parameters
    ----------
    path : path-like
    image : numpy.ndarray
    """
    suffix = suffix_of(path)
    if suffix in (".tif", ".tiff"):
        import tifffile

        tifffile.imwrite(path, image)
        return
    from PIL import Image

    if image.dtype == np.uint16 and suffix == ".png" and image.ndim == 2:
        Image.fromarray(image).save(path)
        return
    if image.dtype != np.uint8:
        raise DataError(f"{path}: expected a .tif output for {image.dtype} pixels "
                        f"({suffix} holds 8-bit images)")
    Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image) \
        .save(path)


def output_path(src: Path, scale: int, out: Path | None, out_dir: Path | None) -> Path:
    """``-o OUT`` as given, else ``<stem>_x<scale><suffix>`` in ``out_dir`` or beside ``src``.

    Parameters
    ----------
    src : pathlib.Path
    scale : int
    out, out_dir : pathlib.Path or None

    Returns
    -------
    pathlib.Path
    """
    if out is not None:
        return out
    suffix = suffix_of(src)
    stem = src.name[: len(src.name) - len(suffix)]
    return (out_dir or src.parent) / f"{stem}_x{scale}{suffix}"


def upscale_file(model, src: Path, dst: Path, *, tile=None, memory_budget=None,
                 progress=None) -> None:
    """Super-resolve one image or NIfTI file ``src`` into ``dst``.

    Parameters
    ----------
    model : SRModel
    src, dst : pathlib.Path
    tile, memory_budget : int or None
        As in :meth:`SRModel.super_resolve`.
    progress : callable, optional
        ``progress(done, total)`` over tiles (images) or slices (volumes).
    """
    from layerbench.models.upscale import scaled_affine, upscale_array, upscale_volume

    suffix = suffix_of(src)
    if suffix in VOLUME_SUFFIXES:
        import nibabel as nib

        if not src.is_file():
            raise DataError(f"{src}: expected an image or NIfTI file, received a missing path")
        try:
            img = nib.load(src)
            data = np.asanyarray(img.dataobj)
        except Exception as err:
            raise DataError(f"{src}: expected a readable NIfTI volume, the file is corrupt "
                            f"({type(err).__name__})") from None
        if data.ndim != 3:
            raise DataError(f"{src}: expected a 3-D volume, received shape {data.shape}")
        out = upscale_volume(model, data, tile=tile, memory_budget=memory_budget,
                             progress=progress)
        header = img.header.copy()
        header.set_data_dtype(out.dtype)
        zooms = list(header.get_zooms())
        zooms[0], zooms[1] = zooms[0] / model.scale, zooms[1] / model.scale
        header.set_zooms(zooms)
        header.set_slope_inter(None, None)
        result = nib.Nifti1Image(out, scaled_affine(img.affine, model.scale), header)
        nib.save(result, dst)
        return
    if suffix not in IMAGE_SUFFIXES:
        raise DataError(expected_format(src))
    image = read_image(src)
    write_image(dst, upscale_array(model, image, tile=tile, memory_budget=memory_budget,
                                   progress=progress))


def expected_format(path: Path) -> str:
    """The one-line message for an input of an unsupported format.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    str
    """
    return (f"{path}: expected one of {', '.join(IMAGE_SUFFIXES + VOLUME_SUFFIXES)}, "
            f"received {suffix_of(path) or 'no suffix'!r}")


def parse_bytes(text: str) -> int:
    """``"896M"``, ``"2G"``, ``"500000"`` -> bytes (K/M/G are powers of 1024).

    Parameters
    ----------
    text : str

    Returns
    -------
    int
    """
    units = {"K": 2**10, "M": 2**20, "G": 2**30}
    t = text.strip().upper().removesuffix("B")
    try:
        value = int(float(t[:-1]) * units[t[-1]]) if t and t[-1] in units else int(t)
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(
            f"expected bytes like 896M, 2G or 500000, received {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive size, received {text!r}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Declare the command's arguments on ``p``.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    from backends.registry import BACKEND_NAMES
    from layerbench.models import PRESETS, pretrained_names
    from layerbench.models.inference import MEMORY_BUDGET

    shipped = (*pretrained_names(), *sorted(n for n, c in PRESETS.items()
                                            if c["arch"] == "bicubic"))
    models = (*shipped, *(n for n in PRESETS if n not in shipped))
    p.add_argument("inputs", nargs="+", type=Path, metavar="INPUT",
                   help="image (.png .jpg .tif) or NIfTI volume (.nii .nii.gz) files")
    where = p.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, default=None, metavar="OUT",
                       help="output file (one input only; default: <stem>_x<scale> beside it)")
    where.add_argument("--out-dir", type=Path, default=None, metavar="DIR",
                       help="directory for <stem>_x<scale><suffix> outputs")
    p.add_argument("--model", required=True, choices=models, metavar="NAME",
                   help=f"a shipped model ({', '.join(shipped)}), or any preset of "
                        f"`layerbench models` with --weights")
    p.add_argument("--weights", type=Path, default=None, metavar="FILE",
                   help="weights for --model instead of the shipped ones: EDSR-PyTorch .pt, "
                        "Keras .h5 or layerbench .npz")
    p.add_argument("--backend", default="cython", choices=BACKEND_NAMES,
                   help="backend the model runs on")
    p.add_argument("--threads", type=int, default=1, metavar="N", help="threads of the backend")
    p.add_argument("--tile", type=int, default=None, metavar="T",
                   help="force whole-model tiles of T LR pixels (default: tile only when "
                        "--memory-budget requires it)")
    p.add_argument("--memory-budget", type=parse_bytes, default=f"{MEMORY_BUDGET // 2**20}M",
                   metavar="M",
                   help="working-set budget in bytes, K/M/G suffixes allowed")
    p.add_argument("--algo", default="auto", choices=ALGOS,
                   help="convolution algorithm; auto times the candidates on a new image "
                        "size once and caches the choice, any other skips that")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notices")


def run(a: argparse.Namespace) -> None:
    """Super-resolve every input of the parsed command line ``a``, printing each output path.

    Parameters
    ----------
    a : argparse.Namespace
        The arguments :func:`add_arguments` declares.

    Raises
    ------
    DataError
        A missing, unsupported or unreadable input (checked before any work), or bad options.
    """
    from tqdm import tqdm

    from backends import autotune
    from backends.registry import get_backend
    from layerbench.models import PRESETS, preset, pretrained, pretrained_names
    from layerbench.models.upscale import Bar

    if a.output is not None and len(a.inputs) > 1:
        raise DataError(f"-o/--output: expected one INPUT, received {len(a.inputs)} "
                        "(use --out-dir for several)")
    if a.threads < 1:
        raise DataError(f"--threads: expected an integer >= 1, received {a.threads}")
    if a.tile is not None and a.tile < 1:
        raise DataError(f"--tile: expected an integer >= 1, received {a.tile}")
    for src in a.inputs:  # every input checked before any work
        if suffix_of(src) not in IMAGE_SUFFIXES + VOLUME_SUFFIXES:
            raise DataError(expected_format(src))
        if not src.is_file():
            raise DataError(f"{src}: expected an image or NIfTI file, received a missing path")
    if a.out_dir is not None:
        a.out_dir.mkdir(parents=True, exist_ok=True)
    if a.weights is not None and not a.weights.is_file():
        raise DataError(f"--weights: expected a weights file, received a missing path "
                        f"{str(a.weights)!r}")
    if PRESETS[a.model]["arch"] == "bicubic":
        if a.weights is not None:
            raise DataError(f"--weights: expected none for {a.model!r} (bicubic has no "
                            f"parameters), received {str(a.weights)!r}")
        model = preset(a.model)
    elif a.weights is not None:
        model = preset(a.model, backend=a.backend, algo=a.algo)
        model.load_weights(a.weights)
    elif a.model in pretrained_names():
        model = pretrained(a.model, backend=a.backend, algo=a.algo)
    else:
        raise DataError(f"--model {a.model}: expected a shipped model "
                        f"({', '.join(pretrained_names())}) or --weights FILE for this preset "
                        f"(no weights ship with it)")

    def notice(path: Path) -> None:
        if not a.quiet:
            tqdm.write(f"first run of {a.model} on {a.backend} at this size: timing the "
                       f"convolution algorithms once (--algo im2col skips it); choices "
                       f"cached in {path}", file=sys.stderr)

    quiet = a.quiet or None  # None: bars only on a terminal
    files = tqdm(a.inputs, desc="files", unit="file", disable=True if a.quiet else
                 (None if len(a.inputs) > 1 else True), file=sys.stderr)
    backend = get_backend(a.backend)
    with backend.threads(a.threads), autotune.announce(notice):
        for src in files:
            dst = output_path(src, model.scale, a.output, a.out_dir)
            volume = suffix_of(src) in VOLUME_SUFFIXES
            bar = Bar(src.name, "slice" if volume else "tile", disable=quiet)
            upscale_file(model, src, dst, tile=a.tile, memory_budget=a.memory_budget,
                         progress=bar)
            bar.bar.close()
            print(dst)
