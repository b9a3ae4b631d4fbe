"""Loaders on real-format files written here: NIfTI (nibabel), NRRD (pynrrd), a DIV2K tree."""

from __future__ import annotations

import cv2
import nibabel as nib
import nrrd
import numpy as np
import pytest

from layerbench.data import DataError, degrade, div2k, images, mri


def _volume(seed=0, shape=(12, 16, 10)):
    rng = np.random.default_rng(seed)
    return (rng.random(shape) * 1000).astype(np.float32)


def _nifti(path, data):
    nib.save(nib.Nifti1Image(data, np.eye(4)), str(path))


@pytest.fixture
def mri_root(tmp_path):
    """Two naming styles: flat ``<subject>_T1.nii.gz`` and ``<subject>/<...>t2w.nrrd``."""
    _nifti(tmp_path / "case01_T1.nii.gz", _volume(1))
    nrrd.write(str(tmp_path / "case01_T2.nrrd"), _volume(2))
    (tmp_path / "case02").mkdir()
    nrrd.write(str(tmp_path / "case02" / "anat-T1.nrrd"), _volume(3))
    _nifti(tmp_path / "case02" / "case02_t2w.nii", _volume(4))
    (tmp_path / "notes.txt").write_text("not a volume")
    return tmp_path


def test_subjects_are_paired_by_the_naming_rule(mri_root):
    found = mri.find_subjects(mri_root)
    assert sorted(found) == ["case01", "case02"]
    assert found["case01"]["T1"].name == "case01_T1.nii.gz"
    assert found["case02"]["T2"].name == "case02_t2w.nii"


def test_volumes_round_trip_through_both_formats(mri_root):
    for sub, w, seed in (("case01", "T1", 1), ("case01", "T2", 2), ("case02", "T1", 3)):
        path = mri.find_subjects(mri_root)[sub][w]
        np.testing.assert_array_equal(mri.load_volume(path), _volume(seed).astype(np.float64))
    v = mri.load_subject_volume("mri_dir", str(mri_root), "case02", "T2", rule="percentile",
                                low=0.0, high=99.5)
    assert v.data.dtype == np.uint8 and v.data.shape == (12, 16, 10) and not v.synthetic
    assert v.data.max() == 255 and "percentile(0,99.5)" in v.intensity_rule


def test_a_subject_missing_a_weighting_is_named(tmp_path):
    _nifti(tmp_path / "solo_T1.nii.gz", _volume())
    with pytest.raises(DataError, match=r"solo.*missing \['T2'\]"):
        mri.find_subjects(tmp_path)
    assert list(mri.find_subjects(tmp_path, ["T1"])) == ["solo"]


def test_duplicate_volumes_are_an_error(tmp_path):
    _nifti(tmp_path / "a_T1.nii.gz", _volume())
    nrrd.write(str(tmp_path / "a_T1.nrrd"), _volume())
    with pytest.raises(DataError, match="already has a T1"):
        mri.find_subjects(tmp_path, ["T1"])


def test_empty_and_missing_directories(tmp_path):
    with pytest.raises(DataError, match="empty directory"):
        mri.find_subjects(tmp_path)
    with pytest.raises(DataError, match="missing path"):
        mri.find_subjects(tmp_path / "nope")
    with pytest.raises(DataError, match="missing path"):
        mri.load_volume(tmp_path / "x_T1.nii.gz")


@pytest.mark.parametrize("name", ["bad_T1.nii.gz", "bad_T1.nii", "bad_T1.nrrd"])
def test_a_corrupt_volume_names_the_file(tmp_path, name):
    (tmp_path / name).write_bytes(b"\x00garbage\x01" * 10)
    with pytest.raises(DataError, match=name.replace(".", r"\.") + ".*corrupt"):
        mri.load_volume(tmp_path / name)


def test_a_volume_of_the_wrong_rank_names_the_file(tmp_path):
    _nifti(tmp_path / "flat_T1.nii.gz", np.zeros((4, 5), np.float32))
    nrrd.write(str(tmp_path / "four_T1.nrrd"), np.zeros((3, 4, 5, 2), np.float32))
    for name, rank in (("flat_T1.nii.gz", 2), ("four_T1.nrrd", 4)):
        with pytest.raises(DataError, match=f"{name}.*3-D volume, received rank {rank}"):
            mri.load_volume(tmp_path / name)
    _nifti(tmp_path / "single_T1.nii.gz", np.zeros((3, 4, 5, 1), np.float32))
    assert mri.load_volume(tmp_path / "single_T1.nii.gz").shape == (3, 4, 5)


def test_slices_are_cropped_to_the_scale_multiple():
    vol = np.arange(7 * 9 * 3, dtype=np.uint8).reshape(7, 9, 3)
    s = mri.get_slice(vol, 1, 2, modulo=4)
    assert s.shape == (8, 4)
    np.testing.assert_array_equal(s, np.rot90(vol[:, :, 1])[:8, :4])
    with pytest.raises(DataError, match="slice index"):
        mri.get_slice(vol, 3, 2)


def test_embedded_mri_is_labelled_synthetic_for_t2():
    t1 = mri.load_subject_volume("mni152", None, "mni152", "T1", rule="percentile", low=0,
                                 high=99.5)
    t2 = mri.load_subject_volume("mni152", None, "mni152", "T2", rule="percentile", low=0,
                                 high=99.5)
    assert t1.data.shape == t2.data.shape == (197, 233, 189)
    assert (t1.synthetic, t2.synthetic) == (False, True) and "synthetic" in t2.source
    # T2-like contrast: inside the brain, what is bright in T1 (white matter) is dark in T2
    s1, s2 = (mri.get_slice(v.data, 90, 2).astype(float) for v in (t1, t2))
    brain = s1 > 60
    assert np.corrcoef(s1[brain], s2[brain])[0, 1] < 0


@pytest.fixture
def div2k_root(tmp_path):
    rng = np.random.default_rng(0)
    hr_dir = tmp_path / "DIV2K_valid_HR"
    (tmp_path / "DIV2K_valid_LR_bicubic" / "X2").mkdir(parents=True)
    hr_dir.mkdir()
    for name in ("0801", "0802"):
        img = rng.integers(0, 256, (33, 42, 3), dtype=np.uint8)
        cv2.imwrite(str(hr_dir / f"{name}.png"), img)
    lr = rng.integers(0, 256, (16, 21, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "DIV2K_valid_LR_bicubic" / "X2" / "0801x2.png"), lr)
    return tmp_path


def test_div2k_uses_lr_files_and_makes_missing_ones(div2k_root):
    pairs = {p.image: p for p in div2k.div2k_pairs(div2k_root, 2)}
    assert sorted(pairs) == ["0801", "0802"]
    a, b = pairs["0801"], pairs["0802"]
    assert a.lr_source == "file" and b.lr_source == "matlab_bicubic"
    assert a.hr.shape == (32, 42, 3) and a.lr.shape == (16, 21, 3)
    np.testing.assert_array_equal(b.lr, degrade.matlab_bicubic(b.hr, 2))
    # read_rgb returns RGB: the file was written as BGR by OpenCV
    bgr = cv2.imread(str(div2k_root / "DIV2K_valid_HR" / "0801.png"))
    np.testing.assert_array_equal(a.hr, bgr[:32, :, ::-1])


def test_div2k_errors_name_the_path(div2k_root, tmp_path_factory):
    (div2k_root / "DIV2K_valid_HR" / "0801.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"0801\.png.*corrupt"):
        list(div2k.div2k_pairs(div2k_root, 2))
    empty = tmp_path_factory.mktemp("empty")
    (empty / "DIV2K_valid_HR").mkdir()
    with pytest.raises(DataError, match="empty directory"):
        div2k.list_div2k(empty)
    with pytest.raises(DataError, match="DIV2K_train_HR"):
        div2k.list_div2k(div2k_root, "train")
    with pytest.raises(DataError, match=r"\['0900'\] not found"):
        div2k.list_div2k(div2k_root, images=["0900"])


def test_a_wrongly_sized_lr_file_is_named(div2k_root):
    cv2.imwrite(str(div2k_root / "DIV2K_valid_LR_bicubic" / "X2" / "0801x2.png"),
                np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(DataError, match=r"0801x2\.png.*16x21"):
        list(div2k.div2k_pairs(div2k_root, 2, images=["0801"]))


def test_embedded_images_need_no_download():
    for name in images.EMBEDDED:
        img = images.load_embedded(name)
        assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    with pytest.raises(DataError, match="dataset.images"):
        images.load_embedded("eagle")
