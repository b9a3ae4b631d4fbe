"""Facts live on the spec: every spec class states its reduction length per
tensor, its FLOPs and its spatial reach; one that does not fails loudly, naming itself,
instead of falling into the element-wise tolerance tier or a too-small tile overlap."""

from __future__ import annotations

import dataclasses
import sys
from fractions import Fraction

import numpy as np
import pytest

from backends import Network, specs
from backends.testing import CASES, PRESETS, Case
from backends.testing import tolerances as tol
from layerbench.models import graph


def _concrete(cls=specs.Stated):
    """Every public spec class of the package below ``cls`` (the bases are not specs of
    their own). ``slots=True`` dataclasses are re-created, so ``__subclasses__`` also lists
    the discarded first versions: keep the class its module exports."""
    out = []
    for sub in cls.__subclasses__():
        module = sys.modules[sub.__module__]
        if (sub.__module__.startswith("backends.") and getattr(module, sub.__name__, None) is sub
                and not sub.__name__.startswith("_") and sub is not specs.LayerSpec):
            out.append(sub)
        out += _concrete(sub)
    return out


CONCRETE = sorted(set(_concrete()), key=lambda c: c.__name__)


def _example(cls) -> Case:
    return next(c for c in CASES if type(c.spec) is cls)


def _tensors(case: Case) -> list[str]:
    """The harness's tensor names of a case (``backends.testing.harness.run_case``)."""
    spec, shape = case.spec, case.input_shape
    if spec.is_loss:
        return ["y", "dx"]
    names = ["y", *(("da", "db") if case.is_merge else ("dx",))]
    names += [f"grad/{p}" for p in spec.param_shapes(shape)]
    return names + [f"state/{b}" for b in spec.state_shapes(shape)]


def test_the_walk_finds_every_spec_class():
    assert set(specs.ALL_SPECS) | {specs.Loss} <= set(CONCRETE)


@pytest.mark.parametrize("cls", CONCRETE, ids=lambda c: c.__name__)
def test_every_spec_class_states_every_fact(cls):
    assert any(type(c.spec) is cls for c in CASES), (
        f"{cls.__name__} has no example in backends.testing.CASES: add one")
    case = _example(cls)
    spec, shape = case.spec, case.input_shape
    for tensor in _tensors(case):
        k = spec.reduction_length(shape, tensor, training=case.training)
        assert isinstance(k, int) and k >= 1, (tensor, k)
        assert spec.arithmetic(shape, tensor, training=case.training) in (
            "sum", "copy", "formula", "transform")
        assert spec.cancelling(tensor, training=case.training) in (None, "batch_statistics")
    for direction in specs.DIRECTIONS:
        for training in (False, True):
            flops = spec.flops(shape, direction, training=training)
            assert isinstance(flops, int) and flops >= 0
    assert spec.input_data in ("uniform", "distinct", "away_from_kinks", "channel_spread")
    assert all(isinstance(k, float) for k in spec.kinks)
    if isinstance(spec, specs.LayerSpec):  # registry-style argument check, not a fact switch
        reach = spec.reach()
        assert reach.radius is None or reach.radius >= 0
        assert isinstance(reach.scale, Fraction) and reach.scale > 0


@pytest.mark.parametrize("case", CASES, ids=str)
def test_unknown_tensor_names_are_an_error_naming_the_spec(case):
    with pytest.raises(ValueError, match=type(case.spec).__name__):
        case.spec.reduction_length(case.input_shape, "grad/nonexistent")


@pytest.mark.parametrize("case", [c for c in CASES if not c.spec.is_loss], ids=str)
def test_has_weights_is_a_weights_parameter(case):
    assert case.spec.has_weights == ("weights" in case.spec.param_shapes(case.input_shape))


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Novel(specs.LayerSpec):
    """A layer that states nothing."""


def test_a_spec_that_states_nothing_fails_loudly_naming_itself():
    shape = (1, 4, 4, 2)
    for call in (lambda s: s.reduction_length(shape, "y"), lambda s: s.flops(shape),
                 lambda s: s.reach(), lambda s: s.arithmetic(shape, "y")):
        with pytest.raises(NotImplementedError, match="Novel does not state its"):
            call(Novel())
    # the tolerance tier asks the spec: no silent element-wise tier
    with pytest.raises(NotImplementedError, match="Novel"):
        tol.budget(Case("novel", Novel(), shape), "y", np.float32)


def test_tolerance_tiers_follow_the_stated_arithmetic():
    by_name = {c.name: c for c in CASES}
    assert tol.tier_of(by_name["pixelshuffle_dcr_r2"], "dx") == "exact"
    assert tol.tier_of(by_name["maxpool2x2_s2_valid"], "y") == "exact"
    assert tol.tier_of(by_name["maxpool3x3_s2_same"], "dx") == "reduction"  # overlapping
    assert tol.tier_of(by_name["upsample_r2"], "dx") == "reduction"
    assert tol.tier_of(by_name["avgpool2x2_s2_valid"], "dx") == "elementwise"
    assert tol.tier_of(by_name["winograd4_add_fused"], "y") == "winograd"
    assert tol.tier_of(by_name["winograd4_add_fused"], "da") == "reduction"
    assert tol.tier_of(by_name["winograd4_add_fused"], "db") == "elementwise"
    assert tol.tier_of(by_name["conv3x3_auto"], "y") == "winograd"
    assert tol.tier_of(by_name["batchnorm_infer"], "y") == "elementwise"
    assert tol.tier_of(by_name["batchnorm_train"], "y") == "reduction"
    assert tol.tier_of(by_name["loss_mse"], "y") == "reduction"
    assert tol.tier_of(by_name["conv3x3_s1_same_b1_c3"], "adam/weights") == "optimizer"


def test_reduction_lengths_state_the_formulas():
    conv = specs.Conv2D(filters=5, kernel=(3, 2), stride=(2, 1), padding="valid")
    shape = (2, 9, 8, 3)  # Ho = 4, Wo = 7
    assert conv.reduction_length(shape, "y") == 3 * 2 * 3
    assert conv.reduction_length(shape, "dx") == 2 * 2 * 5  # ceil(3/2) ceil(2/1) F
    assert conv.reduction_length(shape, "grad/weights") == 2 * 4 * 7
    fused = specs.Conv2DAdd(filters=5, kernel=(3, 2), stride=(2, 1), padding="valid")
    assert fused.reduction_length(shape, "da") == 20 and fused.reduction_length(shape, "db") == 1
    with pytest.raises(ValueError, match="Conv2DAdd tensor"):
        fused.reduction_length(shape, "dx")
    bn = specs.BatchNorm()
    assert bn.reduction_length(shape, "y") == 1
    assert bn.reduction_length(shape, "y", training=True) == 2 * 9 * 8
    assert bn.reduction_length(shape, "grad/gamma") == 2 * 9 * 8
    assert specs.Loss().reduction_length(shape, "y") == 2 * 9 * 8 * 3
    assert specs.Upsample(scale=3).reduction_length(shape, "dx") == 9
    assert specs.Connected(units=4).reduction_length(shape, "grad/bias") == 2


def test_conv_flops_are_the_direct_convolution_count():
    case = PRESETS["edsr_body"]  # 1 x 339 x 510 x 256 -> 256 filters, 3x3 same
    assert case.spec.flops(case.input_shape) == 2 * 339 * 510 * 9 * 256 * 256
    assert case.spec.flops(case.input_shape, "backward") == 4 * 339 * 510 * 9 * 256 * 256
    strided = PRESETS["thesis_conv_s2"]  # 16 x 512 x 512 x 3, stride 2 same -> 256 x 256
    assert strided.spec.flops(strided.input_shape) == 2 * 16 * 256 * 256 * 9 * 3 * 100
    with pytest.raises(ValueError, match="direction"):
        case.spec.flops(case.input_shape, "sideways")


def _changed_reach(net: Network, scale: Fraction) -> float:
    """Largest distance, in input pixels, from a perturbed input pixel to a changed output
    pixel: what the receptive radius must bound."""
    rng = np.random.default_rng(0)
    n, h, w, c = net.input_shape
    x = rng.uniform(-1, 1, (n, h, w, c))
    y0 = net.forward(x)
    x[0, h // 2, w // 2, :] += 1.0
    y1 = net.forward(x)
    rows, cols = np.nonzero(np.any(np.abs(y1 - y0)[0] > 0, axis=-1))
    centre = (np.array([h // 2, w // 2]) + 0.5) * float(scale) - 0.5
    return float(max(np.max(np.abs(rows - centre[0])), np.max(np.abs(cols - centre[1])))
                 / float(scale))


@pytest.mark.parametrize("layers, radius", [
    ([specs.Conv2D(filters=2, kernel=5), specs.Conv2D(filters=2)], 3),
    ([specs.Conv2D(filters=2), specs.Upsample(scale=2), specs.Conv2D(filters=2)], 2),
    ([specs.Conv2D(filters=8), specs.PixelShuffle(scale=2), specs.Conv2D(filters=2)], 2),
    ([specs.MaxPool2D(size=3, stride=1, padding="same"), specs.Conv2D(filters=2)], 2),
])
def test_receptive_radius_bounds_what_an_input_pixel_changes(layers, radius):
    net = Network((1, 15, 15, 2), dtype=np.float64, seed=1)
    for k, spec in enumerate(layers):
        net.add(f"n{k}", spec)
    scale = Fraction(1)
    for spec in layers:
        scale *= spec.reach().scale
    assert graph.receptive_radius(net) == radius
    assert _changed_reach(net, scale) <= radius


def test_receptive_radius_counts_what_follows_a_stride_at_its_coarser_resolution():
    net = Network((1, 15, 15, 2), dtype=np.float64)
    net.add("down", specs.Conv2D(filters=2, stride=2))
    net.add("conv", specs.Conv2D(filters=2, kernel=5))
    assert graph.receptive_radius(net) == 1 + 2 * 2  # 2 half-resolution pixels = 4


def test_receptive_radius_of_a_dense_layer_is_an_error():
    net = Network((1, 4, 4, 2), dtype=np.float64)
    net.add("dense", specs.Connected(units=3))
    with pytest.raises(ValueError, match="bounded spatial reach"):
        graph.receptive_radius(net)
