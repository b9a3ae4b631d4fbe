"""Make asv's published dashboard render with no network: vendor its CDN libraries.

asv 0.6.6's ``index.html`` loads jQuery, flot (+ plugins), stupidtable, blueimp-md5 and
Bootstrap 3 from CDNs. This script takes each one from its npm package (``npm pack``, cached
under ``$LAYERBENCH_NPM_CACHE`` or ``~/.cache/layerbench/npm`` so later runs need no
network), copies the file to ``<html>/vendor/<package>-<version>/...``, points the tag at
it and drops the ``integrity``/``crossorigin``/``referrerpolicy`` attributes (a local copy
built by npm is not always byte-identical to the CDN's minified build; the script reports
which files still match the page's hash). An unknown CDN address is an error, so an asv
upgrade that loads something new is noticed here rather than as a blank page.

Usage: ``python tools/vendor_asv_dashboard.py results/html``
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

# CDN address -> (npm package, version, file inside the package)
CDN = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery", "3.3.1", "dist/jquery.min.js"),
    # cdnjs serves minified flot 0.8.3; npm ships the same release unminified
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js":
        ("flot", "0.8.3", "jquery.flot.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js":
        ("flot", "0.8.3", "jquery.flot.time.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js":
        ("flot", "0.8.3", "jquery.flot.selection.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js":
        ("flot", "0.8.3", "jquery.flot.categories.js"),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        ("flot-orderbars", "1.0.0", "js/jquery.flot.orderBars.js"),
    # stupidtable 1.0.1 is not on npm; 1.1.3 is the same plugin (same $.fn.stupidtable API)
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js":
        ("stupid-table-plugin", "1.1.3", "stupidtable.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js":
        ("blueimp-md5", "2.19.0", "js/md5.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js":
        ("bootstrap", "3.1.1", "dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        ("bootstrap", "3.1.1", "dist/css/bootstrap.min.css"),
}
# files a vendored file loads by relative path (bootstrap.min.css -> ../fonts/...)
COMPANIONS = {
    ("bootstrap", "3.1.1"): [f"dist/fonts/glyphicons-halflings-regular.{ext}"
                             for ext in ("eot", "svg", "ttf", "woff")],
}
TAG = re.compile(r"<(script|link)\b[^>]*>", re.IGNORECASE)
URL_ATTR = re.compile(r'\b(src|href)="(https?://[^"]+)"')
DROP_ATTRS = re.compile(r'\s(integrity|crossorigin|referrerpolicy)="[^"]*"')


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "layerbench" / "npm"
    return Path(os.environ.get("LAYERBENCH_NPM_CACHE", default))


def package_tarball(name: str, version: str) -> Path:
    """The npm tarball of ``name@version``, from the cache or ``npm pack``."""
    cache = cache_dir()
    path = cache / f"{name}-{version}.tgz"
    if path.exists():
        return path
    if shutil.which("npm") is None:
        raise SystemExit(f"vendor: {path} is not cached and npm is not installed; install "
                         f"npm or put the tarball of {name}@{version} there")
    cache.mkdir(parents=True, exist_ok=True)
    subprocess.run(["npm", "pack", f"{name}@{version}", "--silent", "--pack-destination",
                    str(cache)], check=True, stdout=subprocess.DEVNULL)
    if not path.exists():
        raise SystemExit(f"vendor: npm pack {name}@{version} did not write {path}")
    return path


def extract(name: str, version: str, member: str, dest_root: Path) -> Path:
    """Copy ``package/<member>`` of the tarball to ``dest_root/<name>-<version>/<member>``."""
    dest = dest_root / f"{name}-{version}" / member
    if dest.exists():
        return dest
    with tarfile.open(package_tarball(name, version)) as tar:
        src = tar.extractfile(f"package/{member}")
        if src is None:
            raise SystemExit(f"vendor: {name}@{version} has no file {member}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read())
    return dest


def sri_matches(data: bytes, integrity: str | None) -> bool | None:
    """Whether ``data`` has the page's subresource-integrity hash (None: no hash given)."""
    if not integrity:
        return None
    algo, _, digest = integrity.partition("-")
    if algo not in ("sha256", "sha384", "sha512"):
        return None
    return base64.b64encode(hashlib.new(algo, data).digest()).decode() == digest


def vendor_page(page: Path, vendor: Path) -> list[tuple[str, str, bool | None]]:
    """Rewrite one HTML page in place; return ``(url, local path, hash matches)`` rows."""
    text = page.read_text(encoding="utf-8")
    report = []

    def fix(tag_match: re.Match) -> str:
        tag = tag_match.group(0)
        url = URL_ATTR.search(tag)
        if url is None:
            return tag
        if url.group(2) not in CDN:
            if tag_match.group(1).lower() == "link" and 'rel="stylesheet"' not in tag:
                return tag
            raise SystemExit(f"vendor: {page.name} loads {url.group(2)}, which this script "
                             "does not know; add it to CDN (asv version changed?)")
        name, version, member = CDN[url.group(2)]
        local = extract(name, version, member, vendor)
        for extra in COMPANIONS.get((name, version), []):
            extract(name, version, extra, vendor)
        integrity = re.search(r'\bintegrity="([^"]*)"', tag)
        match = sri_matches(local.read_bytes(), integrity.group(1) if integrity else None)
        rel = local.relative_to(page.parent).as_posix()
        report.append((url.group(2), rel, match))
        tag = tag.replace(url.group(2), rel)
        return DROP_ATTRS.sub("", tag)

    new = TAG.sub(fix, text)
    if new != text:
        page.write_text(new, encoding="utf-8")
    return report


def vendor_dashboard(html_dir: Path) -> list[tuple[str, str, bool | None]]:
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").exists():
        raise SystemExit(f"vendor: {html_dir}/index.html not found; run `asv publish` first")
    rows = []
    for page in sorted(html_dir.glob("*.html")):
        rows += vendor_page(page, html_dir / "vendor")
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html_dir", type=Path, nargs="?", default=Path("results/html"))
    args = parser.parse_args(argv)
    rows = vendor_dashboard(args.html_dir)
    for url, rel, match in rows:
        state = {True: "hash verified", False: "npm build (hash differs)",
                 None: "no hash"}[match]
        print(f"{rel:<60} {state}  <- {url}")
    if not rows:
        print(f"vendor: nothing to do in {args.html_dir} (already vendored?)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
