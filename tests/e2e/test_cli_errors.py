"""``layerbench`` at the command line: a config, data or weights error is one line on stderr
(the message naming the key or file) and exit status 2; ``--debug`` shows the traceback.

Each case is a real ``python -m layerbench.cli`` process (Hydra parses its argv); they start
together so the suite waits for the slowest, not the sum.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _png_1x1() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, cli_env):
    """``{case: CompletedProcess-like (returncode, stderr)}`` for every case, run at once."""
    tmp = tmp_path_factory.mktemp("cli")
    mri = tmp / "mri"
    mri.mkdir()
    for w in ("T1", "T2"):  # not gzip, not NIfTI: a corrupt volume
        (mri / f"case01_{w}.nii.gz").write_bytes(os.urandom(3000))
    hr = tmp / "DIV2K" / "DIV2K_valid_HR"  # a 1x1 image, too small for x2
    hr.mkdir(parents=True)
    (hr / "0801.png").write_bytes(_png_1x1())
    common = [f"output.root={tmp / 'runs'}", f"hydra.run.dir={tmp / 'hydra'}",
              "report_on_end=false", "output.progress=false"]
    cases = {
        "scale_without_model": ["reproduce", "experiment.scales=[3]", *common],
        "backend_name": ["reproduce", "backend.name=nonexistent", *common],
        "wrong_type": ["reproduce", "experiment.scales=[x]", *common],
        "corrupt_nifti": ["reproduce", "experiment=mri", "dataset=mri_dir",
                          f"dataset.root={mri}", "experiment.models=[]", *common],
        "missing_root": ["verify", str(tmp / "nowhere")],
        "tiny_image": ["reproduce", "experiment=div2k_smoke", "dataset=div2k",
                       f"dataset.root={tmp / 'DIV2K'}", "dataset.images=null", *common],
        "missing_init": ["train", "init=/missing.npz", f"hydra.run.dir={tmp / 'hydra_train'}"],
        "debug": ["--debug", "reproduce", "experiment.scales=[3]", *common],
    }
    procs = {name: subprocess.Popen([sys.executable, "-m", "layerbench.cli", *args],
                                    cwd=tmp, env=cli_env, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True)
             for name, args in cases.items()}
    out = {}
    for name, p in procs.items():
        _, err = p.communicate(timeout=600)
        out[name] = (p.returncode, err)
    return out


@pytest.mark.parametrize("case, names", [
    ("scale_without_model", ["experiment.scales[0]", "received 3"]),
    ("backend_name", ["backend.name", "nonexistent"]),
    ("wrong_type", ["experiment.scales", "'x'"]),
    ("corrupt_nifti", ["case01_T1.nii.gz", "corrupt"]),
    ("missing_root", ["nowhere", "not found"]),
    ("tiny_image", ["0801.png", "at least 2x2 pixels", "received 1x1"]),
    ("missing_init", ["init", "/missing.npz"]),
])
def test_user_errors_are_one_line_and_exit_2(runs, case, names):
    code, err = runs[case]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, err[-3000:]
    assert len(lines) == 1 and "error:" in lines[0], err[-3000:]
    for name in names:
        assert name in lines[0], lines[0]


def test_debug_shows_the_traceback(runs):
    code, err = runs["debug"]
    assert code != 0 and "Traceback (most recent call last)" in err
    assert "experiment.scales[0]" in err
