"""``layerbench <command> --help`` works for every command of the table in ``cli.py``, and
the commands whose arguments ``cli.py`` declares parse them there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import backends
from layerbench import cli
from layerbench.confdir import RUNS


@pytest.fixture(scope="module")
def helps():
    """``{command: (status, stdout)}`` of ``layerbench <command> --help``, each a real process
    (Hydra's help leaves global state behind in-process), all started at once."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    src = Path(backends.__file__).resolve().parent.parent
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    procs = {name: subprocess.Popen([sys.executable, "-m", "layerbench.cli", name, "--help"],
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True) for name in cli.COMMANDS}
    outs = {name: p.communicate(timeout=600)[0] for name, p in procs.items()}
    return {name: (procs[name].returncode, out) for name, out in outs.items()}


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_has_help(name, helps):
    status, out = helps[name]
    assert status == 0, out[-300:]
    assert f"layerbench {name}" in out or "powered by Hydra" in out, out[:300]


def test_the_usage_lists_every_command(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert all(f"  {name} " in out for name in cli.COMMANDS)


def test_verify_defaults_to_the_results_root(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / RUNS).mkdir(parents=True)
    with pytest.raises(SystemExit) as done:
        cli.main(["verify"])
    assert done.value.code == 0
    assert f"layerbench verify {RUNS}: 0 shards" in capsys.readouterr().out


def test_a_bad_argument_is_argparse_status_2(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["bench-report", "--no-such-option"])
    assert done.value.code == 2
    assert "layerbench bench-report" in capsys.readouterr().err
