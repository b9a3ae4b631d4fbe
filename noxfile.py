"""nox sessions: ``nox -s reproduce``, ``nox -s tests``, ``nox -s lock``, ``nox -s lint``,
``nox -s bench [-- --quick | --compare REF]``, ``nox -s dashboard``, ``nox -s browser``,
``nox -s fuzz [-- seconds]``, ``nox -s docs``, ``nox -s peers [-- --quick]``."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]

ENV = {"OMP_WAIT_POLICY": "passive", "TF_CPP_MIN_LOG_LEVEL": "3"}


LOCK = "locks/py311.txt"
CONSTRAINTS = "locks/constraints.txt"


def _install(session: nox.Session, extra: str) -> tuple[list[str], dict[str, str]]:
    """Install ``.[extra]`` from the lock (default) or floating (``--unlocked`` among the
    arguments, or ``LAYERBENCH_UNLOCKED=1``); return the other arguments and the environment
    that records the lock's SHA-256 in provenance (``LAYERBENCH_LOCK``)."""
    import hashlib
    import os

    args = [a for a in session.posargs if a != "--unlocked"]
    env = dict(ENV)
    if "--unlocked" in session.posargs or os.environ.get("LAYERBENCH_UNLOCKED") == "1":
        session.install(f".[{extra}]", "-c", CONSTRAINTS)
        return args, env
    session.install("--require-hashes", "-r", LOCK)
    session.install("--no-deps", ".")
    with open(LOCK, "rb") as f:
        env["LAYERBENCH_LOCK"] = f"{LOCK} sha256:{hashlib.sha256(f.read()).hexdigest()}"
    return args, env


@nox.session
def lock(session: nox.Session) -> None:
    """Re-resolve ``.[all]`` for Python 3.11 into locks/py311.txt with every file's hash
    (``uv pip compile --generate-hashes``), pinned by locks/constraints.txt. Run it after any
    change of the dependencies in pyproject.toml (tests/test_lock.py fails until then)."""
    if session.venv_backend != "none":
        session.install("uv")
    session.run("uv", "pip", "compile", "pyproject.toml", "--extra", "all",
                "--generate-hashes", "--python-version", "3.11", "-c", CONSTRAINTS,
                "--no-header", "--quiet", "-o", LOCK, *_find_links(), *session.posargs)


def _find_links() -> list[str]:
    """pip's local wheel folders (PIP_FIND_LINKS) for uv too: torch's CPU build is a local
    wheel or the PyTorch CPU index, never PyPI (whose torch is the CUDA build)."""
    import os
    links = os.environ.get("PIP_FIND_LINKS", "").split()
    return [arg for link in links for arg in ("--find-links", link)]


@nox.session
def tests(session: nox.Session) -> None:
    """The README test command against a non-editable install of ``.[all]``, from the lock
    (``nox -s tests -- --unlocked`` floats the dependencies)."""
    args, env = _install(session, "all")
    session.run("pytest", "-n", "2", *args, env=env)


@nox.session
def reproduce(session: nox.Session) -> None:
    """The main job on a fresh machine: its own venv, the locked dependencies installed
    (``--unlocked``: ``.[experiments]`` floating), both thesis experiments with the shipped
    weights, then the report into results/tables and results/figures. Other arguments replace
    the overrides (``nox -s reproduce -- experiment=mri``)."""
    import shutil

    args, env = _install(session, "experiments")
    committed = f"{session.create_tmp()}/committed"
    shutil.rmtree(committed, ignore_errors=True)
    shutil.copytree("results/tables", f"{committed}/tables")
    overrides = args or ["experiment=div2k,mri"]
    session.run("layerbench", "reproduce", "-m", *overrides, env=env)
    # the verdict: the regenerated tables against the committed ones (figures are drawn
    # from them); exit status 1 when a number moved beyond its tolerance
    session.run("layerbench", "compare", "results", committed, env=env)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Random Hypothesis exploration for a given time: ``nox -s fuzz -- [seconds=600]``.

    Rounds of every Hypothesis test (``-m hypothesis``) with a fresh seed each (profile
    ``fuzz`` of tests/conftest.py: random, no example database) until the time is up. A
    failure prints the minimal example, the seed that reproduces it and, for the layer fuzz
    test, the ``Case(...)`` line to add to backends/testing/catalogue.py. Further arguments go
    to pytest: ``nox -s fuzz -- 600 -m fuzz`` explores only the fuzzers of untrusted input
    (weights files: crafted ``.pt`` views and pickle streams, ``.h5`` layouts and links).
    """
    import random
    import time

    seconds = float(session.posargs[0]) if session.posargs else 600.0
    if session.venv_backend != "none":
        session.install(".[all]")
    env = {**ENV, "LAYERBENCH_HYPOTHESIS_PROFILE": "fuzz"}
    end, rounds = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        seed = random.SystemRandom().randrange(2**32)
        session.log(f"fuzz round {rounds + 1}: --hypothesis-seed={seed}")
        session.run("pytest", "-q", "-p", "no:cacheprovider", "-m", "hypothesis", "-x",
                    f"--hypothesis-seed={seed}", *session.posargs[1:], env=env)
        rounds += 1
    session.log(f"fuzz: {rounds} rounds in {seconds:.0f} s, no failure")


DOCS_BUILD = "docs/_build"


@nox.session
def docs(session: nox.Session) -> None:
    """The documentation site into docs/_build/html (git-ignored): warnings are errors
    (``-W --keep-going``), every internal reference must resolve (``-n``), the gallery's
    examples run. Arguments go to sphinx-build (``nox -s docs -- -E`` rebuilds everything).
    Installs ``.[all]``: the API reference imports every backend (TensorFlow, JAX, Numba)."""
    if session.venv_backend != "none":
        session.install(".[all]")
    session.run("sphinx-build", "-W", "--keep-going", "-n", "-b", "html", *session.posargs,
                "docs", f"{DOCS_BUILD}/html", env=ENV)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


QUICK_DIR = "results/quick"  # see tools/asv_conf.py


@nox.session
def bench(session: nox.Session) -> None:
    """asv on the installed working tree; results keyed to HEAD in results/asv; the dashboard
    in results/html with its JavaScript vendored so it renders offline.

    The machine is named after the CPU model, family, model number, vector instructions and
    core count, and the results get stable environment names (``tools/asv_results.py``), so
    runs of one machine form one series and two CPU generations never share one.

    ``nox -s bench -- --quick``: a fast pass that every benchmark runs (one sample each, tiny
    shapes, one thread count), with its results and dashboard in results/quick.
    ``nox -s bench -- --compare REF [--factor F] [--bench REGEX]``: the regression check
    (``tools/bench_compare.py``): asv builds REF and HEAD in its own virtualenv, times a
    subset, prints ``asv compare``'s table and fails on a slowdown beyond the factor.
    Other arguments go to ``asv run`` (e.g. ``-- --bench Conv``). ``LAYERBENCH_BENCH_TINY=1``
    shrinks every shape. ``nox --no-venv -s bench`` runs in the current environment (the
    project installed there).
    """
    args, env, config, html = list(session.posargs), dict(ENV), [], "results/html"
    if "--compare" in args:
        if session.venv_backend != "none":
            session.install("asv==0.6.6", "virtualenv")
        args.remove("--compare")
        session.run("python", "tools/bench_compare.py", *args, env=env)
        return
    if session.venv_backend != "none":
        session.install(".[all]")
    head = session.run("git", "rev-parse", "HEAD", external=True, silent=True).strip()
    results = "results/asv"
    if "--quick" in args:
        args.append("--show-stderr")
        env.update(LAYERBENCH_BENCH_TINY="1", LAYERBENCH_BENCH_QUICK="1")
        conf = session.run("python", "tools/asv_conf.py", QUICK_DIR, silent=True).strip()
        config, html, results = ["--config", conf], f"{QUICK_DIR}/html", f"{QUICK_DIR}/asv"
    machine = session.run("python", "tools/asv_results.py", "--machine-name",
                          silent=True).strip()
    cpu = session.run("python", "tools/asv_results.py", "--cpu", silent=True).strip()
    session.run("asv", "machine", "--yes", "--machine", machine, "--cpu", cpu, *config,
                env=env)
    session.run("asv", "run", *config, "--machine", machine, "--python=same",
                "--set-commit-hash", head, *args, env=env)
    session.run("python", "tools/asv_results.py", results)
    session.run("asv", "publish", *config, env=env)
    session.run("python", "tools/vendor_asv_dashboard.py", html)


@nox.session
def dashboard(session: nox.Session) -> None:
    """Serve the dashboard on http://127.0.0.1:8000, publishing it first from the committed
    results/asv when results/html is missing or older (then vendoring its JavaScript).
    Arguments: a port, a directory to serve instead (``nox -s dashboard --
    results/quick/html 8001``; served as it is), ``--no-serve`` (publish only)."""
    import sys

    posargs = [a for a in session.posargs if a != "--no-serve"]
    port = next((a for a in posargs if a.isdigit()), "8000")
    root = next((a for a in posargs if not a.isdigit()), None)
    if root is None:
        root = "results/html"
        if _older("results/html/index.json", "results/asv"):
            if session.venv_backend != "none":
                session.install("asv==0.6.6")
            session.run("asv", "publish", env=ENV)
            session.run("python", "tools/vendor_asv_dashboard.py", root)
        else:
            session.log("results/html is newer than results/asv: not republished")
    if "--no-serve" in session.posargs:
        return
    python = "python" if session.venv_backend != "none" else sys.executable
    session.log(f"dashboard: http://127.0.0.1:{port}/ (Ctrl-C stops it)")
    session.run(python, "-m", "http.server", port, "--bind", "127.0.0.1", "--directory",
                root, external=True)


def _older(target: str, source: str) -> bool:
    """True when ``target`` is missing or older than the newest file under ``source``."""
    from pathlib import Path

    built = Path(target)
    newest = max((p.stat().st_mtime for p in Path(source).rglob("*.json")), default=0.0)
    return not built.exists() or built.stat().st_mtime < newest


@nox.session
def browser(session: nox.Session) -> None:
    """Headless Chromium renders the dashboard (a tiny one built on the fly, or the one in
    ``LAYERBENCH_DASHBOARD_DIR``); installs Debian's chromium when it is missing."""
    import shutil

    if not any(shutil.which(b) for b in ("chromium", "chromium-browser")):
        session.run("apt-get", "update", external=True)
        session.run("apt-get", "install", "-y", "chromium", external=True)
    if session.venv_backend != "none":
        session.install(".[bench,test]", "matplotlib")
    session.run("pytest", "-q", "-p", "no:cacheprovider", "tests/bench/test_dashboard.py",
                *session.posargs, env={**ENV, "LAYERBENCH_REQUIRE_CHROMIUM": "1"})


PEER_MODELS = ("edsr_baseline_x2", "wdsr_a_x4")


@nox.session
def peers(session: nox.Session) -> None:
    """Our backends (cython, numba) against the peer runtimes (Keras, ONNX Runtime, OpenVINO,
    PyTorch), each in its own fresh process: ``layerbench compare-backends`` on
    EDSR-baseline x2 and WDSR-A x4 at 510x339, 1 and 2 threads, 3 interleaved rounds, with
    the roofline; writes results/tables/peers.csv and peers.md and re-renders the README's
    speed table (13 minutes on 2 quiet cores). Every process's result is appended to
    results/tables/peers_rounds.jsonl: a killed run continues where it stopped, and a later
    run adds to the same tables (``-- --models edsr_x2 --threads 2 --rounds 1``: EDSR x2).
    ``-- --train-step``: one training step of EDSR-baseline x2 (batch 16, LR patch 48, Adam)
    against Keras' ``train_on_batch`` and PyTorch, into results/tables/peers_train.{csv,md}.
    ``-- --quick``: EDSR-small x2 on tiny inputs, one round, one thread, into results/quick/
    (a check that every runtime runs, not a result). ``-- --out DIR``: the state file and
    tables go to DIR (another machine's; a state file takes one machine's rounds) and the
    README is left alone. Options: ``--models``, ``--threads``, ``--rounds``; anything else
    goes to ``compare-backends``. ``nox --no-venv -s peers`` runs
    in the current environment.
    """
    import argparse

    if session.venv_backend == "none":
        rest, env = list(session.posargs), dict(ENV)
    else:
        rest, env = _install(session, "all")
        session.run("python", "setup.py", "build_ext", "--inplace", "-q")
    p = argparse.ArgumentParser(prog="nox -s peers --")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--train-step", action="store_true")
    p.add_argument("--models", "--model", nargs="+")
    p.add_argument("--threads", nargs="+")
    p.add_argument("--rounds")
    p.add_argument("--out")
    a, rest = p.parse_known_args(rest)
    out = a.out or ("results/quick" if a.quick else "results/tables")
    name = "peers_train" if a.train_step else "peers"
    models = a.models or (["edsr_small_x2"] if a.quick else list(PEER_MODELS))
    threads = a.threads or (["1"] if a.quick else ["1", "2"])
    rounds = a.rounds or ("1" if a.quick else "3")
    if a.train_step:
        models = a.models or (["edsr_small_x2"] if a.quick else ["edsr_baseline_x2"])
        what = ["--train-step", *(["--batch", "2", "--patch", "8"] if a.quick else [])]
    else:
        what = ["--size", "64x48" if a.quick else "510x339"]
    session.run("python", "-c", f"import os; os.makedirs({out!r}, exist_ok=True)")
    session.run("layerbench", "compare-backends", "--model", *models, *what,
                "--threads", *threads, "--rounds", rounds, "--backends", "cython", "numba",
                "--state", f"{out}/{name}_rounds.jsonl", "--csv", f"{out}/{name}.csv",
                "--md", f"{out}/{name}.md", *rest, env=env)
    if out == "results/tables" and not a.train_step:
        session.run("python", "docs/_ext/results_tables.py", "--update-readme", env=env)
