"""``layerbench upscale`` and :mod:`layerbench.models.upscale`: formats, pixel types,
channels, the NIfTI affine, equality of the command with the Python API, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest

from backends import autotune
from layerbench import cli, models
from layerbench.models.bicubic import upscale as bicubic_upscale
from layerbench.models.upscale import dtype_range, scaled_affine, upscale_array, upscale_volume
from layerbench.upscale import read_image

nib = pytest.importorskip("nibabel", reason="NIfTI volumes need nibabel (the [mri] extra)")
tifffile = pytest.importorskip("tifffile", reason="TIFF files need tifffile")
Image = pytest.importorskip("PIL.Image", reason="PNG/JPEG files need Pillow")

MODEL = "edsr_small_x2"


@pytest.fixture(scope="module")
def model():
    return models.pretrained(MODEL, backend="numpy", algo="im2col")


def _rng():
    return np.random.default_rng(7)


def _cli(*args):
    cli.main(["upscale", "--backend", "numpy", "--algo", "im2col", "-q", *map(str, args)])


@pytest.mark.parametrize("channels", [3, 4])
def test_png_command_equals_the_api_bit_for_bit(tmp_path, model, channels, capsys):
    img = _rng().integers(0, 256, (14, 11, channels), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    _cli(tmp_path / "in.png", "-o", tmp_path / "out.png", "--model", MODEL)
    assert capsys.readouterr().out.strip() == str(tmp_path / "out.png")
    got = np.asarray(Image.open(tmp_path / "out.png"))
    want = upscale_array(model, img)
    assert got.shape == (28, 22, channels) and got.dtype == np.uint8
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(want[..., :3], model.super_resolve(img[..., :3]))


def test_alpha_is_upscaled_bicubically_and_reattached(model):
    img = _rng().integers(0, 256, (9, 8, 4), dtype=np.uint8)
    out = upscale_array(model, img)
    alpha = bicubic_upscale(img[None, ..., 3:].astype(np.float64), 2)[0, ..., 0]
    np.testing.assert_array_equal(out[..., 3], np.clip(np.rint(alpha), 0, 255))


def test_16_bit_tiff_keeps_its_dtype_and_range(tmp_path, model):
    img = _rng().integers(0, 65536, (10, 12), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "in.tif", img)
    _cli(tmp_path / "in.tif", "--out-dir", tmp_path / "o", "--model", MODEL)
    got = tifffile.imread(tmp_path / "o" / "in_x2.tif")
    assert got.dtype == np.uint16 and got.shape == (20, 24)
    np.testing.assert_array_equal(got, upscale_array(model, img))
    # the 16-bit path keeps the precision the 8-bit one would lose
    assert len(np.unique(got % 257)) > 1


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_images_come_back_in_their_range(model, dtype):
    unit = _rng().random((8, 9, 3)).astype(dtype)
    out = upscale_array(model, unit)
    assert out.dtype == dtype and out.min() >= 0 and out.max() <= 1
    wide = unit * 1000 - 200
    assert dtype_range(wide) == (float(wide.min()), float(wide.max()))
    out = upscale_array(model, wide)
    assert out.dtype == dtype and out.min() >= wide.min() and out.max() <= wide.max()
    # the same image in [0, 255] units gives the same result, rescaled
    ref = upscale_array(model, ((wide - wide.min()) / np.ptp(wide) * 255).astype(np.float64),
                        value_range=(0.0, 255.0))
    np.testing.assert_allclose((out - wide.min()) / np.ptp(wide) * 255, ref,
                               atol=1e-3 if dtype == np.float32 else 1e-9)


def test_grey_in_grey_out(model):
    img = _rng().integers(0, 256, (7, 6), dtype=np.uint8)
    out = upscale_array(model, img)
    assert out.shape == (14, 12)
    assert upscale_array(model, img[..., None]).shape == (14, 12, 1)


@pytest.mark.parametrize("bad", [np.zeros((4, 4, 5), np.uint8), np.zeros((0, 4), np.uint8),
                                 np.zeros((2, 4, 4, 3), np.uint8)])
def test_bad_shapes_name_the_parameter(model, bad):
    with pytest.raises(ValueError, match="image.shape"):
        upscale_array(model, bad)


def test_nifti_volume_slice_by_slice_with_scaled_affine(tmp_path, model):
    vol = _rng().normal(300, 80, (9, 7, 3)).astype(np.int16)
    affine = np.array([[0.9, 0, 0, -10], [0, 1.1, 0, 5], [0, 0, 3, 2], [0, 0, 0, 1.0]])
    nib.save(nib.Nifti1Image(vol, affine), tmp_path / "v.nii.gz")
    _cli(tmp_path / "v.nii.gz", "--model", MODEL)
    out = nib.load(tmp_path / "v_x2.nii.gz")
    got = np.asanyarray(out.dataobj)
    assert got.dtype == np.int16 and got.shape == (18, 14, 3)
    np.testing.assert_array_equal(got, upscale_volume(model, vol))
    np.testing.assert_allclose(out.affine, scaled_affine(affine, 2))
    np.testing.assert_allclose(out.header.get_zooms(), (0.45, 0.55, 3.0), rtol=1e-6)
    # slices share the volume's range: each equals upscale_array with that range
    np.testing.assert_array_equal(
        got[:, :, 1], upscale_array(model, vol[:, :, 1], value_range=dtype_range(vol)))


def test_scaled_affine_keeps_the_field_of_view():
    affine = np.array([[0.9, 0.1, 0, -10], [0, 1.1, 0, 5], [0, 0, 3, 2], [0, 0, 0, 1.0]])
    new = scaled_affine(affine, 3)
    corner = np.array([-0.5, -0.5, 0, 1])
    np.testing.assert_allclose(new @ corner, affine @ corner)
    far = np.array([10 - 0.5, 4 - 0.5, 0, 1])
    np.testing.assert_allclose(new @ (far * [3, 3, 1, 1] + [1, 1, 0, 0]), affine @ far)


def test_progress_counts_tiles_and_slices(model):
    seen = []
    upscale_array(model, np.zeros((10, 10, 3), np.uint8), tile=4,
                  progress=lambda d, t: seen.append((d, t)))
    assert seen == [(k, 9) for k in range(1, 10)]
    seen.clear()
    upscale_volume(model, np.zeros((5, 5, 4), np.float32), progress=lambda d, t: seen.append(d))
    assert seen == [1, 2, 3, 4]


@pytest.mark.parametrize("content", [b"", b"not an image at all"])
@pytest.mark.parametrize("suffix", [".png", ".jpg", ".tif", ".nii.gz"])
def test_a_corrupt_file_is_one_line_and_status_2(tmp_path, capsys, suffix, content):
    bad = tmp_path / f"bad{suffix}"
    bad.write_bytes(content)
    with pytest.raises(SystemExit) as done:
        _cli(bad, "--model", "bicubic_x2")
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "layerbench upscale: error:" in err and str(bad) in err


@pytest.mark.parametrize("name", ["missing.png", "notes.txt"])
def test_missing_or_unknown_files_are_refused_before_any_work(tmp_path, capsys, name):
    good = tmp_path / "good.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(good)
    with pytest.raises(SystemExit) as done:
        _cli(good, tmp_path / name, "--out-dir", tmp_path / "o", "--model", "bicubic_x2")
    assert done.value.code == 2
    assert name in capsys.readouterr().err
    assert not (tmp_path / "o" / "good_x2.png").exists()


def test_read_image_keeps_16_bit_png(tmp_path):
    img = _rng().integers(0, 65536, (5, 6), dtype=np.uint16)
    Image.fromarray(img).save(tmp_path / "a.png")
    got = read_image(tmp_path / "a.png")
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, img)


def test_first_autotune_is_announced_once_with_the_cache_path(tmp_path, monkeypatch, capsys):
    cache = tmp_path / "algo.json"
    monkeypatch.setenv(autotune.ENV, str(cache))
    autotune.forget()
    Image.fromarray(np.zeros((6, 5, 3), np.uint8)).save(tmp_path / "a.png")
    cli.main(["upscale", str(tmp_path / "a.png"), "--model", MODEL, "--backend", "cython"])
    err = capsys.readouterr().err
    assert err.count("timing the convolution algorithms") == 1 and str(cache) in err
    assert json.loads(cache.read_text())
    cli.main(["upscale", str(tmp_path / "a.png"), "--model", MODEL, "--backend", "cython"])
    assert "timing" not in capsys.readouterr().err  # cached now


def test_progress_true_shows_a_bar_and_changes_nothing(model, capsys):
    img = _rng().integers(0, 256, (10, 10, 3), dtype=np.uint8)
    np.testing.assert_array_equal(upscale_array(model, img, tile=4, progress=True),
                                  upscale_array(model, img, tile=4))
    assert "tiles" in capsys.readouterr().err


def test_weights_file_for_a_preset_equals_the_shipped_model(tmp_path, model):
    img = _rng().integers(0, 256, (6, 7, 3), dtype=np.uint8)
    Image.fromarray(img).save(tmp_path / "in.png")
    src = models.presets.WEIGHTS_DIR / f"{MODEL}.npz"
    _cli(tmp_path / "in.png", "-o", tmp_path / "a.png", "--model", MODEL, "--weights", src)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "a.png")),
                                  upscale_array(model, img))


@pytest.mark.parametrize("args, message", [
    (["--model", "edsr_baseline_x2"], "--weights FILE for this preset"),
    (["--model", MODEL, "--weights", "nowhere.pt"], "--weights: expected a weights file"),
    (["--model", "bicubic_x2", "--weights", __file__], "bicubic has no parameters"),
])
def test_presets_without_shipped_weights_need_a_file(tmp_path, capsys, args, message):
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(tmp_path / "in.png")
    with pytest.raises(SystemExit) as done:
        _cli(tmp_path / "in.png", *args)
    assert done.value.code == 2 and message in capsys.readouterr().err
