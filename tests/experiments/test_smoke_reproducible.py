"""A smoke experiment regenerated on the machine running the tests equals the committed
smoke results (tests/data/smoke_results, made on the CPU that committed them) within the
result tolerances, as ``layerbench compare`` judges; whether it was also bitwise is printed
and recorded as a test property (``-rA`` / junit shows it)."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir

from layerbench import schema
from layerbench.compare import compare, report
from layerbench.confdir import CONFIG_PATH
from layerbench.experiments import run_experiment
from layerbench.report import build_report

COMMITTED = Path(__file__).resolve().parents[1] / "data" / "smoke_results"
# what the committed smoke results were made with (regenerate them with the same overrides)
OVERRIDES = ["experiment=div2k_smoke", "dataset.images=[chelsea]", "experiment.crop=48",
             "output.progress=false"]


def regenerate(out: Path) -> Path:
    """Run the smoke experiment into ``out/runs`` and its report tables into ``out``.

    Parameters
    ----------
    out : Path
        An empty directory.

    Returns
    -------
    Path
        ``out`` (a results root holding ``tables/``).
    """
    with initialize_config_dir(config_dir=CONFIG_PATH, version_base="1.3"):
        raw = compose(config_name="config", overrides=[*OVERRIDES, f"output.root={out}/runs"])
    run_experiment(schema.validate(raw))
    build_report(out / "runs", out, formats=())
    return out


def test_smoke_results_reproduce_within_tolerance(tmp_path, record_property, capsys):
    diffs, errors = compare(regenerate(tmp_path), COMMITTED)
    text, status = report(diffs, errors, verbose=True)
    assert diffs, f"no table compared: {COMMITTED}/tables is empty"
    assert status == 0, text
    bitwise = all(d.bitwise for d in diffs) and not errors
    record_property("bitwise", bitwise)
    with capsys.disabled():
        print(f"\nsmoke results vs committed: within tolerance; bitwise: {bitwise}")


if __name__ == "__main__":  # python tests/experiments/test_smoke_reproducible.py OUT
    import sys

    print(regenerate(Path(sys.argv[1])))
