"""The report's files are written all or nothing and listed in a manifest that
``layerbench verify`` checks: a report killed while saving a figure leaves no truncated
figure under its name (a SIGKILL left 0-byte PDFs), and a damaged report file is named."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest
from hydra import compose, initialize_config_dir

from layerbench import cli, schema
from layerbench.confdir import CONFIG_PATH
from layerbench.experiments import run_experiment, store
from layerbench.report import build_report, manifest


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("atomic")
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        raw = compose(config_name="config", overrides=[
            "experiment=div2k_smoke", "dataset.images=[chelsea]", f"output.root={tmp}/runs",
            "output.progress=false", "experiment.crop=48", "experiment.scales=[2]"])
    run_experiment(schema.validate(raw))
    return tmp / "runs"


def _killed_in_the_middle_of_a_figure(runs, out) -> None:
    """In a child: build the report; the third figure file saved writes half its bytes and
    the process is SIGKILLed there."""
    from matplotlib.figure import Figure

    save, calls = Figure.savefig, []

    def half_then_die(self, fname, *args, **kwargs):
        calls.append(fname)
        save(self, fname, *args, **kwargs)
        if len(calls) == 3:
            with open(fname, "r+b") as f:
                f.truncate(os.path.getsize(fname) // 2)
            os.kill(os.getpid(), signal.SIGKILL)

    Figure.savefig = half_then_die
    build_report(runs, out, formats=("png", "pdf"))


def test_a_report_killed_while_saving_leaves_no_partial_file(runs, tmp_path, capsys):
    whole = tmp_path / "whole"
    written = build_report(runs, whole, formats=("png", "pdf"))
    assert (whole / manifest.MANIFEST).is_file() and manifest.check(whole) == []
    killed = tmp_path / "killed"
    child = multiprocessing.get_context("fork").Process(
        target=_killed_in_the_middle_of_a_figure, args=(runs, killed))
    child.start()
    child.join(300)
    assert child.exitcode == -signal.SIGKILL
    for p in written:  # every file under its own name is whole (equal to the full build)
        mine = killed / p.relative_to(whole)
        if mine.exists():
            assert mine.read_bytes() == p.read_bytes(), mine
    temporaries = [p for p in killed.rglob("*") if store.is_temporary(p)]
    assert len(temporaries) == 1, temporaries
    problems = manifest.check(killed)
    assert "missing (the report did not finish)" in problems[0]
    assert problems[1:] == [f"{temporaries[0]}: temporary file of an interrupted report write"]
    with pytest.raises(SystemExit) as status:
        cli.main(["verify", str(runs), "--report", str(killed)])
    assert status.value.code == 1 and "BROKEN report" in capsys.readouterr().out


@pytest.mark.parametrize("how", ["empty", "truncate", "delete", "stray"])
def test_verify_names_a_damaged_report_file(runs, tmp_path, capsys, how):
    out = tmp_path / "report"
    figure = next(p for p in build_report(runs, out, formats=("pdf",)) if p.suffix == ".pdf")
    if how == "empty":
        figure.write_bytes(b"")
    elif how == "truncate":
        figure.write_bytes(figure.read_bytes()[:100])
    elif how == "delete":
        figure.unlink()
    else:
        figure = figure.with_name(figure.name + ".layerbench.tmp-abcd1234.pdf")
        figure.write_bytes(b"%PDF")
    with pytest.raises(SystemExit) as status:
        cli.main(["verify", str(runs), "--report", str(out)])
    text = capsys.readouterr().out
    assert status.value.code == 1 and f"BROKEN report: {figure}" in text, text
