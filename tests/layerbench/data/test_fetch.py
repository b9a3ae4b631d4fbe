"""``layerbench data fetch`` against a local HTTP server serving DIV2K-layout archives: good,
truncated, wrong digest, dropped connections (resumed, or given up), server errors; nothing
half-written survives a failure."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from layerbench import cli
from layerbench.data import div2k, fetch
from layerbench.data.div2k_tree import make_archives, make_tree


class Server:
    """Serves ``files`` ({name: bytes}); ``mode`` per name: ``good``, ``truncated`` (half
    the bytes, announced as such), ``drop`` (announces all, sends half, closes), ``drop_once``
    (``drop`` on the first request, honours ``Range`` afterwards), ``error`` (HTTP 500)."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.mode: dict[str, str] = {}
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                rng = self.headers.get("Range")
                server.requests.append((name, rng))
                if name not in server.files:
                    self.send_error(404)
                    return
                data, mode = server.files[name], server.mode.get(name, "good")
                if mode == "error":
                    self.send_error(500)
                    return
                if mode == "truncated":
                    data = data[: len(data) // 2]
                start = int(rng.split("=")[1].rstrip("-")) if rng else 0
                first = sum(1 for n, _ in server.requests if n == name) == 1
                honour = mode == "good" or (mode == "drop_once" and not first)
                if start and honour:
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                    data = data[start:]
                else:
                    self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if mode == "drop" or (mode == "drop_once" and first):
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def served(self, name: str) -> int:
        return sum(1 for n, _ in self.requests if n == name)


@pytest.fixture
def server(monkeypatch):
    s = Server()
    s.thread.start()
    monkeypatch.setenv(fetch.BASE_URL_ENV, s.url)
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """DIV2K's valid archives (HR, X2, X4) of a two-image tree: {name: bytes}."""
    base = tmp_path_factory.mktemp("div2k")
    tree = make_tree(base / "tree", ["0801", "0802"], size=(24, 32))
    return {n: p.read_bytes() for n, p in make_archives(tree, base / "zips").items()}


def _pin(monkeypatch, files: dict[str, bytes]) -> None:
    """Give the registry entries of ``files`` their full digests (DIV2K publishes none)."""
    registry = dict(fetch.REGISTRY)
    for name, data in files.items():
        registry[name] = dataclasses.replace(registry[name],
                                             sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setattr(fetch, "REGISTRY", registry)


def _leftovers(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) if root.exists() \
        else []


def _fetch(root, **kw):
    return fetch.fetch_div2k(root, "valid", (2, 4), progress=False, say=lambda _: None, **kw)


def test_good_archives_unpack_into_the_layout_dataset_div2k_reads(server, archives, tmp_path,
                                                                   monkeypatch):
    server.files.update(archives)
    _pin(monkeypatch, archives)
    root = _fetch(tmp_path / "DIV2K")
    pairs = list(div2k.div2k_pairs(root, 4, split="valid"))
    assert [p.image for p in pairs] == ["0801", "0802"]
    assert all(p.lr_source == "file" for p in pairs)
    assert not list(root.rglob("*.part")) and not list(root.rglob("*.unpack"))
    # a verified copy is not fetched again
    n = len(server.requests)
    _fetch(root)
    assert len(server.requests) == n


@pytest.mark.parametrize("mode", ["truncated", "wrong", "drop", "error"])
def test_a_bad_download_leaves_nothing(server, archives, tmp_path, monkeypatch, mode):
    server.files.update(archives)
    _pin(monkeypatch, archives)
    bad = "DIV2K_valid_LR_bicubic_X2.zip"
    if mode == "wrong":
        server.files[bad] = archives["DIV2K_valid_LR_bicubic_X4.zip"]
    else:
        server.mode[bad] = mode
    root = tmp_path / "DIV2K"
    with pytest.raises(fetch.FetchError, match="SHA-256|download failed"):
        _fetch(root)
    left = _leftovers(root)
    assert not any(n.startswith("DIV2K_valid_LR_bicubic") for n in left), left
    assert not any(n.endswith((".part", ".unpack")) or bad in n for n in left), left
    if mode == "drop":
        assert server.served(bad) == 3  # the retries, each resuming, all dropped


def test_an_interrupted_transfer_resumes_with_a_range_request(server, archives, tmp_path,
                                                               monkeypatch):
    server.files.update(archives)
    _pin(monkeypatch, archives)
    name = "DIV2K_valid_HR.zip"
    server.mode[name] = "drop_once"
    root = _fetch(tmp_path / "DIV2K")
    ranges = [r for n, r in server.requests if n == name]
    assert ranges == [None, f"bytes={len(archives[name]) // 2}-"]
    assert (root / "downloads" / name).read_bytes() == archives[name]
    assert len(list(div2k.div2k_pairs(root, 2))) == 2


def test_unverified_files_need_trust_and_are_then_checked_against_the_record(
        server, archives, tmp_path):
    server.files.update(archives)
    root = tmp_path / "DIV2K"
    with pytest.raises(fetch.FetchError, match="--trust"):
        _fetch(root)
    assert server.requests == [] and _leftovers(root) in ([], ["downloads"])
    _fetch(root, trust=True)
    record = root / "downloads" / "DIV2K_valid_HR.zip.sha256"
    assert record.read_text().split()[0] == hashlib.sha256(
        archives["DIV2K_valid_HR.zip"]).hexdigest()
    # a recorded archive changed on disk is fetched again, the unpacked tree stays
    (root / "downloads" / "DIV2K_valid_HR.zip").write_bytes(b"garbage")
    entry = fetch.REGISTRY["DIV2K_valid_HR.zip"]
    fetch.download(entry, root / "downloads", progress=False, say=lambda _: None)
    assert (root / "downloads" / "DIV2K_valid_HR.zip").read_bytes() == archives[
        "DIV2K_valid_HR.zip"]


def test_a_trusted_but_truncated_archive_is_removed_and_never_unpacked(server, archives,
                                                                      tmp_path):
    server.files.update(archives)
    server.mode["DIV2K_valid_HR.zip"] = "truncated"
    root = tmp_path / "DIV2K"
    with pytest.raises(fetch.FetchError, match="zip"):
        _fetch(root, trust=True)
    assert _leftovers(root) in ([], ["downloads"])


def test_an_archive_with_a_member_outside_its_folder_is_refused(tmp_path, archives):
    import zipfile

    evil = tmp_path / "DIV2K_valid_HR.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("DIV2K_valid_HR/0801.png", archives["DIV2K_valid_HR.zip"][:10])
        z.writestr("../escape.txt", "x")
    with pytest.raises(fetch.FetchError, match="expected every member under"):
        fetch.unpack(fetch.REGISTRY[evil.name], evil, tmp_path / "root", say=lambda _: None)
    assert _leftovers(tmp_path / "root") == []
    assert not (tmp_path / "escape.txt").exists()


def test_weights_are_checked_by_the_published_prefix(server, tmp_path, monkeypatch):
    blob = b"not really a state_dict" * 100
    name = fetch.WEIGHTS["edsr_x2"]
    server.files[name] = blob
    digest = hashlib.sha256(blob).hexdigest()
    registry = dict(fetch.REGISTRY)
    registry[name] = dataclasses.replace(registry[name], sha256_prefix=digest[:8])
    monkeypatch.setattr(fetch, "REGISTRY", registry)
    said = []
    path = fetch.fetch_weights("edsr_x2", tmp_path, progress=False, say=said.append)
    assert path.read_bytes() == blob and "prefix" in said[-1]
    assert fetch.weights_path("edsr_x2", tmp_path) == path
    registry[name] = dataclasses.replace(registry[name], sha256_prefix="00000000"
                                         if not digest.startswith("0" * 8) else "ffffffff")
    with pytest.raises(fetch.FetchError, match="SHA-256 starting"):
        fetch.weights_path("edsr_x2", tmp_path)


def test_the_registry_keeps_the_published_prefix_of_edsr_x2():
    e = fetch.REGISTRY[fetch.WEIGHTS["edsr_x2"]]
    assert e.url == "https://cv.snu.ac.kr/research/EDSR/models/edsr_x2-0edfb8a3.pt"
    assert e.check == "sha256_prefix" and e.sha256_prefix == "0edfb8a3"
    assert fetch.REGISTRY[fetch.WEIGHTS["wdsr_a_x4"]].check == "unverified"
    assert all(e.url.startswith("https://") for e in fetch.REGISTRY.values())


def test_cli_fetches_and_a_missing_file_is_one_line_status_2(server, tmp_path, capsys,
                                                           monkeypatch):
    server.files["wdsr-a-32-x4-psnr-29.1736.h5"] = b"h5" * 50
    cli.main(["data", "fetch", "weights", "wdsr_a_x4", "--dir", str(tmp_path), "--trust",
              "--no-progress"])
    assert (tmp_path / "wdsr-a-32-x4-psnr-29.1736.h5").is_file()
    assert "trusted" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        cli.main(["data", "fetch", "weights", "edsr_x2", "--dir", str(tmp_path),
                  "--no-progress"])
    assert done.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("layerbench data: error:") and "404" in err[0]


def test_experiments_load_published_weights_only_once_fetched(tmp_path, monkeypatch):
    """``weights: published`` reads the fetched file (here a tiny EDSR-PyTorch state_dict
    standing in for edsr_x2's) and records its SHA-256; unfetched, the error says how."""
    import numpy as np

    from layerbench.experiments.methods import load_model
    from layerbench.schema import SRModelConfig

    monkeypatch.setenv(fetch.DATA_DIR_ENV, str(tmp_path))
    tiny = {"n_resblocks": 2, "n_feats": 8, "res_scale": 0.1}
    m = SRModelConfig(label="EDSR", preset="edsr_x2", weights="published", overrides=tiny)
    with pytest.raises(fetch.FetchError, match="layerbench data fetch weights edsr_x2"):
        load_model(0, m, backend="numpy", dtype="float32", seed=0)
    src = Path(__file__).parents[1] / "models" / "data" / "edsr_tiny_x2.pt"
    name = fetch.WEIGHTS["edsr_x2"]
    (tmp_path / "weights").mkdir()
    (tmp_path / "weights" / name).write_bytes(src.read_bytes())
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    registry = dict(fetch.REGISTRY)
    registry[name] = dataclasses.replace(registry[name], sha256_prefix=digest[:8])
    monkeypatch.setattr(fetch, "REGISTRY", registry)
    method = load_model(0, m, backend="numpy", dtype="float32", seed=0)
    assert method.weights == "published" and method.weights_sha256 == digest
    from layerbench.models import preset

    direct = preset("edsr_x2", backend="numpy", **tiny)
    direct.load_weights(src)
    for k, v in direct.params().items():
        np.testing.assert_array_equal(method.model.params()[k], v)
