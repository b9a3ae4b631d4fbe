"""nox sessions: ``nox -s tests``, ``nox -s lint``, ``nox -s bench [-- --quick]``."""

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
def lint(session: nox.Session) -> None:
    session.install("ruff")
    session.run("ruff", "check", ".")


@nox.session
def bench(session: nox.Session) -> None:
    """asv on the installed working tree; results keyed to HEAD; HTML in results/html."""
    session.install(".[all]")
    head = session.run("git", "rev-parse", "HEAD", external=True, silent=True).strip()
    args = list(session.posargs)
    if "--quick" in args:
        args.append("--show-stderr")
    session.run("asv", "machine", "--yes", env=ENV)
    session.run("asv", "run", "--python=same", "--set-commit-hash", head, *args, env=ENV)
    session.run("asv", "publish", env=ENV)
