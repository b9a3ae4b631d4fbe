"""The model and training tools are ``layerbench`` sub-commands (``layerbench/cli.py``):
``evaluate``, ``train-report`` and ``measure`` run through the dispatcher with the arguments
their modules document."""

from __future__ import annotations

import json
import sys

import pytest

from layerbench import cli


def run(monkeypatch, capsys, *argv) -> str:
    monkeypatch.setattr(sys, "argv", ["layerbench", *argv])
    cli.main(list(argv))
    return capsys.readouterr().out


@pytest.mark.parametrize("name", ["evaluate", "train-report", "measure", "peer-compare",
                                  "train"])
def test_commands_are_in_the_table(name):
    assert name in cli.COMMANDS


def test_evaluate_scores_a_shipped_model_against_bicubic(monkeypatch, capsys):
    out = run(monkeypatch, capsys, "evaluate", "edsr_small_x2")
    lines = out.splitlines()
    assert lines[0].startswith("| edsr_small_x2 | image (HR) | PSNR dB")
    images = [line.split("|")[2].strip().split()[0] for line in lines[2:-1]]
    assert images == ["chelsea", "coffee", "rocket"]  # the held-out photographs
    gain = float(lines[-1].split("|")[5].strip().strip("*"))
    assert gain > 0  # the model card's claim: it beats bicubic on average


def test_train_report_draws_curves_of_a_run(monkeypatch, capsys, tmp_path):
    run_dir = tmp_path / "run_a"
    run_dir.mkdir()
    history = [{"step": s, "val_psnr": 30 + s / 100, "loss": 1.0, "elapsed_s": s}
               for s in (100, 200)]
    (run_dir / "summary.json").write_text(json.dumps({
        "model": "edsr_small_x2", "history": history, "steps": 200, "init": None,
        "val_bicubic_psnr": 29.5, "wall_time_s": 200.0}))
    out = run(monkeypatch, capsys, "train-report", str(tmp_path / "curves.png"), str(run_dir))
    assert (tmp_path / "curves.png").stat().st_size > 0
    assert "| run_a | 29.50 | 32.00 | 200 s |" in out  # every 200 steps and the last


def test_train_report_without_arguments_prints_its_usage(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["layerbench", "train-report"])
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train-report"])
    assert exit_.value.code == 2 and "train-report OUT.png" in capsys.readouterr().err


def test_measure_time_and_rss(monkeypatch, capsys):
    """``time`` in process; ``rss`` in a fresh ``layerbench measure _rss`` child."""
    out = run(monkeypatch, capsys, "measure", "time", "edsr_small_x2", "--backends", "numpy",
              "--repeats", "1", "--warmup", "0")
    timed = json.loads(out)
    assert timed["model"] == "edsr_small_x2" and timed["numpy"]["median_s"] > 0
    out = run(monkeypatch, capsys, "measure", "rss", "edsr_small_x2", "--backend", "numpy",
              "--tile", "none")
    rss = json.loads(out)
    assert rss["backend"] == "numpy" and rss["peak_rss_mib"] > 0
    # the default is what users call: super_resolve with its tile plan, at --threads
    out = run(monkeypatch, capsys, "measure", "rss", "edsr_small_x2", "--backend", "numpy",
              "--threads", "2")
    rss = json.loads(out)
    assert (rss["tile"], rss["threads"], rss["plan"]) == ("default", 2, "untiled")
