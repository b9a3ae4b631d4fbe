"""nox sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s bench [-- --quick]``,
``nox -s fuzz [-- seconds]``."""

import nox

nox.options.default_venv_backend = "venv"
nox.options.sessions = ["lint", "tests"]

ENV = {"OMP_WAIT_POLICY": "passive", "TF_CPP_MIN_LOG_LEVEL": "3"}


@nox.session
def tests(session: nox.Session) -> None:
    """The README test command against a non-editable install of ``.[all]``."""
    session.install(".[all]")
    session.run("pytest", "-n", "2", *session.posargs, env=ENV)


@nox.session
def fuzz(session: nox.Session) -> None:
    """Random Hypothesis exploration for a given time: ``nox -s fuzz -- [seconds=600]``.

    Rounds of every Hypothesis test (``-m hypothesis``) with a fresh seed each (profile
    ``fuzz`` of tests/conftest.py: random, no example database) until the time is up. A
    failure prints the minimal example, the seed that reproduces it and, for the layer fuzz
    test, the ``Case(...)`` line to add to backends/testing/catalogue.py.
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


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


QUICK_DIR = "results/quick"  # see tools/asv_conf.py


@nox.session
def bench(session: nox.Session) -> None:
    """asv on the installed working tree; results keyed to HEAD in results/asv; the dashboard
    in results/html with its JavaScript vendored so it renders offline.

    ``nox -s bench -- --quick``: a fast pass that every benchmark runs (one sample each, tiny
    shapes, one thread count), with its results and dashboard in results/quick. Other
    arguments go to ``asv run`` (e.g. ``-- --bench Conv``). ``LAYERBENCH_BENCH_TINY=1``
    shrinks every shape. ``nox --no-venv -s bench`` runs in the current environment (the
    project installed there).
    """
    if session.venv_backend != "none":
        session.install(".[all]")
    head = session.run("git", "rev-parse", "HEAD", external=True, silent=True).strip()
    args, env, config, html = list(session.posargs), dict(ENV), [], "results/html"
    if "--quick" in args:
        args.append("--show-stderr")
        env.update(LAYERBENCH_BENCH_TINY="1", LAYERBENCH_BENCH_QUICK="1")
        conf = session.run("python", "tools/asv_conf.py", QUICK_DIR, silent=True).strip()
        config, html = ["--config", conf], f"{QUICK_DIR}/html"
    session.run("asv", "machine", "--yes", *config, env=env)
    session.run("asv", "run", *config, "--python=same", "--set-commit-hash", head, *args,
                env=env)
    session.run("asv", "publish", *config, env=env)
    session.run("python", "tools/vendor_asv_dashboard.py", html)


@nox.session(venv_backend="none")
def dashboard(session: nox.Session) -> None:
    """Serve results/html on http://127.0.0.1:8000. Arguments: a port, and/or the directory
    to serve (``nox -s dashboard -- results/quick/html 8001``)."""
    import sys

    port = next((a for a in session.posargs if a.isdigit()), "8000")
    root = next((a for a in session.posargs if not a.isdigit()), "results/html")
    session.run(sys.executable, "-m", "http.server", port, "--bind", "127.0.0.1",
                "--directory", root, external=True)


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
