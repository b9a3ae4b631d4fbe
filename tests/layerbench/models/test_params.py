"""Parameter counts of the thesis models and of the builders in general."""

import pytest

from layerbench import models


@pytest.mark.parametrize(("name", "count"), [("edsr_x2", 40_729_603), ("wdsr_a_x4", 3_564_528)])
def test_thesis_parameter_counts(name, count):
    assert models.preset(name).num_params() == count


def conv(k, cin, cout):
    return k * k * cin * cout + cout


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_edsr_count_formula(scale):
    n, f = 3, 8
    ups = [conv(3, f, 4 * f)] * 2 if scale == 4 else [conv(3, f, scale * scale * f)]
    want = conv(3, 3, f) + 2 * n * conv(3, f, f) + conv(3, f, f) + sum(ups) + conv(3, f, 3)
    assert models.edsr(scale, n, f, 1.0).num_params() == want


def test_wdsr_count_formulas():
    s, n, f, e = 3, 2, 10, 4
    tails = conv(3, f, 3 * s * s) + conv(5, 3, 3 * s * s) + conv(3, 3, f)
    a = tails + n * (conv(3, f, f * e) + conv(3, f * e, f))
    b = tails + n * (conv(1, f, f * e) + conv(1, f * e, 8) + conv(3, 8, f))
    assert models.wdsr_a(s, n, f, e).num_params() == a
    assert models.wdsr_b(s, n, f, e).num_params() == b
    assert models.bicubic(s).num_params() == 0


def test_presets_have_configs():
    assert {"edsr_x2", "edsr_baseline_x2", "edsr_baseline_x4", "wdsr_a_x4"} <= set(models.PRESETS)
    with pytest.raises(ValueError, match="preset"):
        models.preset("edsr_x5")
