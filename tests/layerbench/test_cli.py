"""``layerbench <command> --help`` works for every command of the table in ``cli.py``, and
the commands whose arguments ``cli.py`` declares parse them there."""

from __future__ import annotations

import pytest

from layerbench import cli
from layerbench.confdir import RUNS


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_has_help(name, capsys, monkeypatch):
    monkeypatch.setattr("sys.argv", ["layerbench"])  # cli.main sets it for Hydra; restored
    with pytest.raises(SystemExit) as done:
        cli.main([name, "--help"])
    assert done.value.code in (0, None)
    out = capsys.readouterr().out
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
