"""Download the thesis' real data and published weights, checked against a SHA-256 registry.

``layerbench data fetch div2k`` downloads DIV2K's official archives and unpacks them into the
layout ``dataset=div2k`` reads (:mod:`layerbench.data.div2k`)::

    <root>/DIV2K_valid_HR/0801.png
    <root>/DIV2K_valid_LR_bicubic/X2/0801x2.png
    <root>/DIV2K_valid_LR_bicubic/X4/0801x4.png

``layerbench data fetch weights edsr_x2`` downloads the published EDSR-PyTorch ``.pt`` file
(``wdsr_a_x4``: the published Keras ``.h5``) into ``<data dir>/weights/``, where experiments
with ``weights: published`` find it (:func:`weights_path`).

Every file has an entry in :data:`REGISTRY`: its official URL and what is known of its
SHA-256. The check is one of

* ``sha256``: the full digest; the file must match it.
* ``sha256_prefix``: only a prefix is published (EDSR-PyTorch names its files
  ``edsr_x2-<first 8 hex digits of the SHA-256>.pt``, the ``torch.hub`` convention); the
  file must match the prefix (32 bits: it catches a truncated or wrong file, it is not a
  cryptographic guarantee), and the fetcher says so.
* neither (*unverified*): the publisher gives no digest. The file is refused unless the
  user passes ``--trust``; a trusted file's digest is then recorded beside it
  (``<file>.sha256``) and every later use checks the file against that record.

Downloads go to ``<file>.part`` and are renamed to their final name only once whole and
checked; an interrupted transfer is resumed with an HTTP ``Range`` request (``retries``
times), and a download that fails every attempt or fails its check is removed, never
unpacked. Archives are unpacked into a temporary folder beside the target, checked member
by member (no absolute paths, no ``..``, only the folder the archive is expected to hold)
and moved into place with one rename, so a failed unpack leaves nothing half-made. A target
folder unpacked before (its marker names the archive's digest) and a verified archive are
not fetched again.

``LAYERBENCH_FETCH_BASE_URL`` replaces every URL's location by a mirror's: the file
``<name>`` is then fetched from ``<base>/<name>``.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .errors import DataError

BASE_URL_ENV = "LAYERBENCH_FETCH_BASE_URL"
DATA_DIR_ENV = "LAYERBENCH_DATA_DIR"
CHUNK = 1 << 16
MARKER = ".layerbench-fetch.json"

DIV2K_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
EDSR_URL = "https://cv.snu.ac.kr/research/EDSR/models/"
# krasserm/super-resolution's README links its pre-trained Keras models on Google Drive;
# wdsr-a-32-x4 (3.56 M parameters, 29.17 dB on DIV2K valid) is this file
WDSR_A_X4_URL = ("https://drive.google.com/uc?export=download&"
                 "id=1ZTIz1YVXFTI2z3rvBfVuBSthJLJZivxC")


class FetchError(DataError):
    """A download failed, or its file does not match the registry; the message names the
    file and what to do."""


@dataclass(frozen=True)
class Entry:
    """One file of the registry.

    Parameters
    ----------
    name : str
        The file's name (also its name under a mirror, :data:`BASE_URL_ENV`).
    url : str
        The official URL.
    sha256 : str, optional
        The full SHA-256 hex digest, when the publisher gives it.
    sha256_prefix : str, optional
        A published prefix of the SHA-256 (e.g. in the file name).
    members : str, optional
        For an archive: the one folder (POSIX path) all its files lie under; it is unpacked
        as that folder under the target root.
    source : str
        Where the URL and the digest come from.
    """

    name: str
    url: str
    sha256: str | None = None
    sha256_prefix: str | None = None
    members: str | None = None
    source: str = ""

    @property
    def check(self) -> str:
        """``"sha256"``, ``"sha256_prefix"`` or ``"unverified"``."""
        if self.sha256:
            return "sha256"
        return "sha256_prefix" if self.sha256_prefix else "unverified"

    def location(self) -> str:
        """The URL to fetch: the official one, or ``<base>/<name>`` under a mirror."""
        base = os.environ.get(BASE_URL_ENV, "").strip()
        return f"{base.rstrip('/')}/{self.name}" if base else self.url


def _div2k(split: str, what: str) -> Entry:
    name = f"DIV2K_{split}_{what}.zip"
    members = f"DIV2K_{split}_HR" if what == "HR" else \
        f"DIV2K_{split}_LR_bicubic/{what.rsplit('_', 1)[1]}"
    return Entry(name, DIV2K_URL + name, members=members,
                 source="DIV2K site (no digest published)")


# name -> entry. DIV2K publishes no digests; EDSR-PyTorch publishes the first 8 hex digits
# of each file's SHA-256 in its name (src/model/edsr.py, checked by torch.hub).
REGISTRY: dict[str, Entry] = {e.name: e for e in [
    *(_div2k(split, what) for split in ("train", "valid")
      for what in ("HR", "LR_bicubic_X2", "LR_bicubic_X3", "LR_bicubic_X4")),
    Entry("edsr_x2-0edfb8a3.pt", EDSR_URL + "edsr_x2-0edfb8a3.pt", sha256_prefix="0edfb8a3",
          source="EDSR-PyTorch model zoo (src/model/edsr.py); SHA-256 prefix in the name"),
    Entry("edsr_baseline_x2-1bc95232.pt", EDSR_URL + "edsr_baseline_x2-1bc95232.pt",
          sha256_prefix="1bc95232",
          source="EDSR-PyTorch model zoo (src/model/edsr.py); SHA-256 prefix in the name"),
    Entry("wdsr-a-32-x4-psnr-29.1736.h5", WDSR_A_X4_URL,
          source="krasserm/super-resolution pre-trained models (no digest published)"),
]}

# the published weights of the thesis' models: preset -> registry file
WEIGHTS: dict[str, str] = {
    "edsr_x2": "edsr_x2-0edfb8a3.pt",
    "edsr_baseline_x2": "edsr_baseline_x2-1bc95232.pt",
    "wdsr_a_x4": "wdsr-a-32-x4-psnr-29.1736.h5",
}
DIV2K_SPLITS = ("train", "valid")
DIV2K_SCALES = (2, 3, 4)


def data_dir() -> Path:
    """Where fetched files live by default: ``$LAYERBENCH_DATA_DIR``, else
    ``~/.cache/layerbench``.

    Returns
    -------
    pathlib.Path
    """
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env) if env else Path.home() / ".cache" / "layerbench"


def div2k_entries(split: str = "valid", scales: Sequence[int] = (2, 4)) -> list[Entry]:
    """The DIV2K archives of ``split``: HR and the bicubic LR of every scale.

    Parameters
    ----------
    split : {"valid", "train"}
    scales : sequence of int
        Among 2, 3, 4.

    Returns
    -------
    list of Entry
    """
    if split not in DIV2K_SPLITS:
        raise FetchError(f"--split: expected one of {DIV2K_SPLITS}, received {split!r}")
    bad = [s for s in scales if s not in DIV2K_SCALES]
    if bad or not scales:
        raise FetchError(f"--scales: expected values among {DIV2K_SCALES}, received "
                         f"{list(scales)}")
    return [REGISTRY[f"DIV2K_{split}_HR.zip"],
            *(REGISTRY[f"DIV2K_{split}_LR_bicubic_X{s}.zip"] for s in dict.fromkeys(scales))]


def sha256_file(path: Path) -> str:
    """The SHA-256 hex digest of a file.

    Parameters
    ----------
    path : pathlib.Path

    Returns
    -------
    str
    """
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _record(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def check_file(entry: Entry, path: Path, *, trust: bool = False) -> str:
    """Check a downloaded file against its registry entry; return how it was checked.

    Parameters
    ----------
    entry : Entry
    path : pathlib.Path
        The file.
    trust : bool
        Accept an unverified entry's file and record its digest (``<file>.sha256``).

    Returns
    -------
    str
        A phrase for the user: "SHA-256 verified", "SHA-256 prefix ... verified (only the
        prefix is published)", "matches the digest recorded when it was trusted" or
        "trusted (unverified), digest recorded".

    Raises
    ------
    FetchError
        The digest differs, or the entry is unverified, not recorded and ``trust`` is false.
    """
    digest = sha256_file(path)
    if entry.sha256:
        if digest != entry.sha256:
            raise FetchError(f"{path}: expected SHA-256 {entry.sha256}, received {digest}")
        return "SHA-256 verified"
    if entry.sha256_prefix:
        if not digest.startswith(entry.sha256_prefix):
            raise FetchError(f"{path}: expected a SHA-256 starting {entry.sha256_prefix} "
                             f"(published in the file name), received {digest}")
        return (f"SHA-256 prefix {entry.sha256_prefix} verified (only the prefix is "
                "published)")
    record = _record(path)
    if record.is_file():
        want = record.read_text().split()[0] if record.read_text().strip() else ""
        if digest != want:
            raise FetchError(f"{path}: expected the SHA-256 recorded when it was trusted "
                             f"({want or 'empty record'}), received {digest}")
        return "matches the digest recorded when it was trusted"
    if not trust:
        raise FetchError(f"{entry.name}: the publisher gives no checksum (unverified in the "
                         "registry); pass --trust to accept the downloaded file and record "
                         f"its SHA-256 {digest}")
    record.write_text(f"{digest}  {path.name}\n")
    return f"trusted (unverified), SHA-256 {digest} recorded"


def _bar(total: int | None, initial: int, name: str, progress: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="B", unit_scale=True, unit_divisor=1024,
                desc=name, disable=not progress, leave=False)


def _get(url: str, start: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "layerbench-fetch"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (http/https only)


def _transfer(url: str, part: Path, name: str, progress: bool, timeout: float) -> None:
    """One attempt: append to ``part`` from where it ends (``Range``), or restart when the
    server sends the whole file."""
    start = part.stat().st_size if part.exists() else 0
    try:
        response = _get(url, start, timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and start:  # nothing left to send: restart cleanly
            part.unlink()
            response = _get(url, 0, timeout)
        else:
            raise
    with response:
        if start and response.status != 206:
            start = 0  # the server ignored the range: it sends everything
        if "text/html" in response.headers.get("Content-Type", "") and not name.endswith(
                (".html", ".htm")):
            raise FetchError(f"{url}: expected the file {name}, received an HTML page (a "
                             "login or confirmation page?); download it by hand into the "
                             "target folder and run the command again")
        length = response.headers.get("Content-Length")
        total = start + int(length) if length is not None else None
        with open(part, "ab" if start else "wb") as out, \
                _bar(total, start, name, progress) as bar:
            received = start
            while block := response.read(CHUNK):
                out.write(block)
                received += len(block)
                bar.update(len(block))
            out.flush()
            os.fsync(out.fileno())
        if total is not None and received < total:
            raise http.client.IncompleteRead(b"", total - received)


def download(entry: Entry, folder: Path, *, trust: bool = False, retries: int = 3,
             progress: bool = True, timeout: float = 60.0,
             say: Callable[[str], None] = print) -> Path:
    """Fetch ``entry`` into ``folder`` (or keep the verified copy already there).

    Parameters
    ----------
    entry : Entry
    folder : pathlib.Path
    trust : bool
        Accept an unverified file (:func:`check_file`).
    retries : int
        Attempts after an interrupted transfer, each resuming where the last one stopped.
    progress : bool
        Show a progress bar.
    timeout : float
        Seconds without data before an attempt fails.
    say : callable
        Where the one-line messages go.

    Returns
    -------
    pathlib.Path
        The verified file.

    Raises
    ------
    FetchError
        Every attempt failed, or the file fails its check; nothing is left behind.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path, part = folder / entry.name, folder / (entry.name + ".part")
    if path.is_file():
        try:
            how = check_file(entry, path, trust=trust)
            say(f"{path}: already here, {how}")
            return path
        except FetchError as err:
            if entry.check != "unverified" or _record(path).is_file():
                say(f"{path}: {err}; fetching it again")
                path.unlink()  # a trusted file's record stays: the new copy must match it
            else:
                raise
    if entry.check == "unverified" and not trust and not _record(path).is_file():
        raise FetchError(f"{entry.name}: the publisher gives no checksum (unverified in the "
                         "registry); pass --trust to download it and record its SHA-256")
    url = entry.location()
    say(f"{entry.name}: fetching {url}")
    last: BaseException | None = None
    try:
        for _ in range(max(1, retries)):
            try:
                _transfer(url, part, entry.name, progress, timeout)
                last = None
                break
            except FetchError:
                raise
            except urllib.error.HTTPError as err:
                last = err
                if err.code < 500:
                    break  # a missing file does not come back by asking again
            except (OSError, http.client.HTTPException) as err:
                last = err  # a dropped connection: the next attempt resumes
        if last is not None:
            raise FetchError(f"{url}: download failed ({type(last).__name__}: {last}); "
                             "nothing was kept") from last
        os.replace(part, path)
        try:
            how = check_file(entry, path, trust=trust)
        except FetchError:
            path.unlink(missing_ok=True)
            raise
    finally:
        part.unlink(missing_ok=True)
    say(f"{path}: {how}")
    return path


def _safe_members(archive: zipfile.ZipFile, entry: Entry) -> list[zipfile.ZipInfo]:
    """The archive's members, all under ``entry.members``; refuses anything else."""
    infos = archive.infolist()
    top = PurePosixPath(entry.members)
    for info in infos:
        p = PurePosixPath(info.filename)
        if info.is_dir() and p in top.parents:  # e.g. DIV2K_valid_LR_bicubic/ itself
            continue
        if p.is_absolute() or ".." in p.parts or (p != top and top not in p.parents):
            raise FetchError(f"{entry.name}: expected every member under {entry.members}/, "
                             f"received {info.filename!r}")
    if not any(not i.is_dir() for i in infos):
        raise FetchError(f"{entry.name}: expected files under {entry.members}/, received an "
                         "empty archive")
    return infos


def unpack(entry: Entry, archive: Path, root: Path, *,
           say: Callable[[str], None] = print) -> Path:
    """Unpack ``archive`` into ``root/<entry.members>`` in one rename.

    Parameters
    ----------
    entry : Entry
        An archive entry (``members`` set).
    archive : pathlib.Path
        The verified archive.
    root : pathlib.Path
        The dataset root.
    say : callable
        Where the one-line messages go.

    Returns
    -------
    pathlib.Path
        The unpacked folder.

    Raises
    ------
    FetchError
        The archive is unreadable or holds a file outside its folder; nothing is unpacked.
    """
    target = root / entry.members
    digest = sha256_file(archive)
    marker = target / MARKER
    if marker.is_file():
        with contextlib.suppress(ValueError, OSError):
            if json.loads(marker.read_text()).get("sha256") == digest:
                say(f"{target}: already unpacked from {entry.name}")
                return target
    if target.exists() and not marker.is_file():
        raise FetchError(f"{target}: expected a folder this command unpacked (or none), "
                         f"received one without its marker {MARKER}; move it away to "
                         "unpack again, or use it as it is")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".unpack",
                                dir=target.parent))
    try:
        try:
            with zipfile.ZipFile(archive) as z:
                z.extractall(tmp, members=_safe_members(z, entry))
        except (zipfile.BadZipFile, EOFError, OSError) as err:
            raise FetchError(f"{archive}: expected a whole zip archive, received an "
                             f"unreadable one ({type(err).__name__}: {err})") from err
        made = tmp / entry.members
        (made / MARKER).write_text(json.dumps({"archive": entry.name, "sha256": digest}))
        if target.exists():  # an older unpack of another archive version
            shutil.rmtree(target)
        os.replace(made, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    say(f"{target}: unpacked from {entry.name}")
    return target


def fetch_div2k(root: Path, split: str = "valid", scales: Sequence[int] = (2, 4), *,
                trust: bool = False, keep_archives: bool = True, progress: bool = True,
                say: Callable[[str], None] = print) -> Path:
    """Download and unpack DIV2K ``split`` (HR and bicubic LR of ``scales``) under ``root``.

    Parameters
    ----------
    root : pathlib.Path
        The dataset root (``dataset.root`` of ``dataset=div2k``); archives are kept in
        ``root/downloads``.
    split : {"valid", "train"}
    scales : sequence of int
    trust : bool
        Accept the archives, for which DIV2K publishes no digest (:func:`check_file`).
    keep_archives : bool
        Keep the archives after unpacking (a later call then only checks them).
    progress : bool
    say : callable

    Returns
    -------
    pathlib.Path
        ``root``.
    """
    root = Path(root)
    for entry in div2k_entries(split, scales):
        target = root / entry.members
        if _unpacked(target):
            say(f"{target}: already unpacked from {entry.name}")
            continue
        archive = download(entry, root / "downloads", trust=trust, progress=progress, say=say)
        try:
            unpack(entry, archive, root, say=say)
        except FetchError:  # a bad archive (and the trust given to it) is not kept
            archive.unlink(missing_ok=True)
            _record(archive).unlink(missing_ok=True)
            raise
        if not keep_archives:
            archive.unlink()
    return root


def _unpacked(target: Path) -> bool:
    with contextlib.suppress(ValueError, OSError):
        return bool(json.loads((target / MARKER).read_text()).get("sha256"))
    return False


def fetch_weights(preset: str, folder: Path | None = None, *, trust: bool = False,
                  progress: bool = True, say: Callable[[str], None] = print) -> Path:
    """Download the published weights of ``preset`` into ``folder``.

    Parameters
    ----------
    preset : str
        A key of :data:`WEIGHTS`.
    folder : pathlib.Path, optional
        Default: ``data_dir() / "weights"``.
    trust, progress, say
        As for :func:`download`.

    Returns
    -------
    pathlib.Path
    """
    if preset not in WEIGHTS:
        raise FetchError(f"weights: expected one of {tuple(WEIGHTS)}, received {preset!r}")
    folder = Path(folder) if folder is not None else data_dir() / "weights"
    return download(REGISTRY[WEIGHTS[preset]], folder, trust=trust, progress=progress, say=say)


def weights_path(preset: str, folder: Path | None = None) -> Path:
    """The fetched, checked weight file of ``preset`` (``weights: published``).

    Parameters
    ----------
    preset : str
    folder : pathlib.Path, optional
        Default: ``data_dir() / "weights"``.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FetchError
        Not fetched yet, or it fails its check (an unverified file must have been trusted).
    """
    if preset not in WEIGHTS:
        raise FetchError(f"weights: published: expected a preset among {tuple(WEIGHTS)}, "
                         f"received {preset!r}")
    folder = Path(folder) if folder is not None else data_dir() / "weights"
    path = folder / WEIGHTS[preset]
    if not path.is_file():
        raise FetchError(f"{path}: expected the published weights of {preset}, received a "
                         f"missing file; run `layerbench data fetch weights {preset}`")
    check_file(REGISTRY[WEIGHTS[preset]], path)
    return path


def add_arguments(p) -> None:
    """Declare ``layerbench data``'s arguments: ``fetch div2k`` and ``fetch weights``.

    Parameters
    ----------
    p : argparse.ArgumentParser
    """
    from layerbench.cli import Formatter

    verbs = p.add_subparsers(dest="verb", required=True, metavar="fetch")
    fetch = verbs.add_parser("fetch", help="download and check data or weights",
                             formatter_class=Formatter,
                             description="Download DIV2K or published weights, checked "
                                         "against the package's SHA-256 registry.")
    what = fetch.add_subparsers(dest="what", required=True, metavar="{div2k,weights}")
    d = what.add_parser("div2k", formatter_class=Formatter,
                        epilog="example:\n  layerbench data fetch div2k --split valid --scales 2 4 "
                               "--root /data/DIV2K --trust",
                        help="DIV2K archives, unpacked into the layout dataset=div2k reads",
                        description="Download DIV2K's HR and bicubic LR archives of a "
                                    "split and unpack them under --root.")
    d.add_argument("--split", choices=DIV2K_SPLITS, default="valid", help="DIV2K split")
    d.add_argument("--scales", type=int, nargs="+", default=[2, 4],
                   help=f"bicubic LR scales among {list(DIV2K_SCALES)}")
    d.add_argument("--root", type=Path, default=None,
                   help="dataset root, dataset.root of dataset=div2k (default: "
                        f"${DATA_DIR_ENV}/DIV2K, else ~/.cache/layerbench/DIV2K)")
    d.add_argument("--remove-archives", action="store_true",
                   help="delete each archive once unpacked (default: keep in <root>/downloads)")
    w = what.add_parser("weights", formatter_class=Formatter,
                        epilog="example:\n  layerbench data fetch weights edsr_x2\n"
                               "  layerbench data fetch weights wdsr_a_x4 --trust",
                        help="published weights of the thesis' models",
                        description="Download the published weights of a thesis model into "
                                    "--dir, where weights: published finds them.")
    w.add_argument("preset", choices=list(WEIGHTS), help="model preset")
    w.add_argument("--dir", type=Path, default=None,
                   help=f"folder (default: ${DATA_DIR_ENV}/weights, else "
                        "~/.cache/layerbench/weights)")
    for sub in (d, w):
        sub.add_argument("--trust", action="store_true",
                         help="accept a file whose publisher gives no checksum and record "
                              "its SHA-256")
        sub.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args) -> None:
    """Run ``layerbench data`` with parsed ``args``.

    Parameters
    ----------
    args : argparse.Namespace
    """
    progress = not args.no_progress
    if args.what == "div2k":
        root = args.root if args.root is not None else data_dir() / "DIV2K"
        fetch_div2k(root, args.split, args.scales, trust=args.trust,
                    keep_archives=not args.remove_archives, progress=progress)
        print(f"dataset=div2k dataset.root={root} dataset.split={args.split}")
    else:
        fetch_weights(args.preset, args.dir, trust=args.trust, progress=progress)
