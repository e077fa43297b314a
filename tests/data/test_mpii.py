"""MPII reader and builder on the real sample (tests/fixtures/mpii_sample)."""

import json
import logging
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from msposejax import skeleton
from msposejax.data import features, geometry, mpii
from msposejax.data.augment import Augmentation
from msposejax.data.transforms import ExampleSpec, crop_person, eval_example
from tests.conftest import REPO

# Module-scoped fixtures: its tests stay in one xdist test process (`-n auto --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("mpii")

SAMPLE = REPO / "tests" / "fixtures" / "mpii_sample"


def test_json_parsing_is_zero_based():
  raw = json.loads((SAMPLE / "test_mpii.json").read_text())
  people = mpii.load_json(SAMPLE / "test_mpii.json")
  assert len(people) == 5
  for p, r in zip(people, raw):
    vis = np.asarray(r["joints_vis"], bool)
    np.testing.assert_array_equal(p.visible, vis)
    np.testing.assert_allclose(p.joints[vis], np.asarray(r["joints"])[vis] - 1)
    np.testing.assert_allclose(p.center, np.asarray(r["center"]) - 1)
    assert p.head_box is None
  assert [p.visible.sum() for p in people] == [16, 16, 14, 14, 16]


def test_bad_json_is_a_clear_error(tmp_path):
  (tmp_path / "bad.json").write_text('[{"image": "a.jpg"}]')
  with pytest.raises(ValueError, match="entry 0"):
    mpii.load_json(tmp_path / "bad.json")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
  """A manual dir from the sample, plus one missing image, one corrupt JPEG and one person
  without labelled joints, built with the real TFDS builder."""
  root = tmp_path_factory.mktemp("mpii")
  manual = root / "manual"
  (manual / "images").mkdir(parents=True)
  for f in SAMPLE.glob("*.jpg"):
    shutil.copy(f, manual / "images" / f.name)
  (manual / "images" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
  entries = json.loads((SAMPLE / "test_mpii.json").read_text())
  bad = [dict(entries[0], image="missing.jpg"), dict(entries[0], image="corrupt.jpg"),
         dict(entries[0], joints_vis=[0] * 16)]
  (manual / "train.json").write_text(json.dumps(entries + bad))
  (manual / "valid.json").write_text(json.dumps(entries))
  builder = mpii.MpiiHumanPose(data_dir=str(root / "tfds"), file_format="array_record")
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(manual)))
  return builder


def test_builder_skips_bad_people_with_counts(built, caplog):
  assert len(built.as_data_source("train")) == 5
  assert len(built.as_data_source("validation")) == 5


def test_builder_logs_what_it_skipped(tmp_path, caplog):
  people = mpii.load_json(SAMPLE / "test_mpii.json")
  people.append(mpii.Person("missing.jpg", people[0].joints, people[0].visible,
                            people[0].center, people[0].scale, None))
  empty = mpii.Person(people[0].image, people[0].joints, np.zeros(16, bool), people[0].center,
                      people[0].scale, None)
  with caplog.at_level(logging.WARNING):
    records = list(mpii.generate_records(people + [empty], SAMPLE, 256))
  assert len(records) == 5
  assert "1 (missing image)" in caplog.text and "1 (no labelled joint)" in caplog.text


@pytest.mark.parametrize("scale", [0.0, -1.0, float("nan")])
def test_a_person_with_a_zero_or_bad_scale_is_skipped_and_counted(scale, caplog):
  people = mpii.load_json(SAMPLE / "test_mpii.json")
  bad = mpii.Person(people[0].image, people[0].joints, people[0].visible, people[0].center,
                    scale, None)
  with caplog.at_level(logging.WARNING):
    records = list(mpii.generate_records(people + [bad], SAMPLE, 256))
  assert len(records) == 5
  assert "1 (bad box)" in caplog.text and "scale" in caplog.text


def test_stored_crop_maps_back_to_the_original_annotation(built):
  people = {p.image: p for p in mpii.load_json(SAMPLE / "test_mpii.json")}
  source = built.as_data_source("validation")
  for i in range(len(source)):
    rec = source[i]
    person = people[rec["image_name"].decode()]
    vis = rec["visible"]
    original = rec["joints"] / rec["zoom"] + rec["offset"]
    np.testing.assert_allclose(original[vis], person.joints[vis], atol=0.5)
    stored = features.decode_image(rec["image"])
    assert max(stored.shape[:2]) <= 1.1 * 384 / (0.75) * 1.25 * 1.25 * 1.5  # bounded size


def test_eval_crop_round_trip_and_image_content(built, tiny_config):
  cfg = tiny_config
  with cfg.unlocked():
    cfg.input_size = 256
    cfg.data.center_shift = 15.0
  source = built.as_data_source("validation")
  for i in range(len(source)):
    rec = source[i]
    ex = eval_example(rec, ExampleSpec.from_config(cfg))
    vis = rec["visible"]
    m = np.linalg.inv(ex["crop_to_stored"])
    crop_xy = geometry.apply_affine(m, rec["joints"])
    # The MPII crop rule by hand (docs/method.md §1): a square of side 200·s·1.25 around the
    # centre moved down by 15·s, resampled to 256 px (its edges at −½ and 255.5).
    s = float(rec["scale"])
    centre = np.asarray(rec["center"], np.float64) + [0.0, 15.0 * s]
    side = 200.0 * s * 1.25
    by_hand = (rec["joints"] - (centre - side / 2)) * 256 / side - 0.5
    np.testing.assert_allclose(crop_xy[vis], by_hand[vis], atol=1e-3)
    # Colours at the joints agree between the stored image and the crop (bilinear + JPEG).
    stored = features.decode_image(rec["image"]).astype(float)
    crop = ex["image"].astype(float)
    diffs = []
    for j in np.flatnonzero(vis):
      sx, sy = np.round(rec["joints"][j]).astype(int)
      cx, cy = np.round(crop_xy[j]).astype(int)
      if 0 <= cx < 256 and 0 <= cy < 256:
        diffs.append(np.abs(stored[sy, sx] - crop[cy, cx]).mean())
    assert np.median(diffs) < 25


def test_flip_swaps_left_and_right(built, tiny_config):
  cfg = tiny_config
  with cfg.unlocked():
    cfg.input_size = 128
  rec = built.as_data_source("validation")[0]
  spec = ExampleSpec.from_config(cfg)
  plain = crop_person(rec, Augmentation(1.0, 0.0, False, np.ones(3, np.float32)), spec)
  flipped = crop_person(rec, Augmentation(1.0, 0.0, True, np.ones(3, np.float32)), spec)
  # Mirror image up to OpenCV's fixed-point bilinear rounding (±1 on a few pixels).
  diff = np.abs(flipped[0].astype(int) - plain[0][:, ::-1].astype(int))
  assert diff.max() <= 1 and (diff > 0).mean() < 0.001
  for r, l in skeleton.FLIP_PAIRS:
    np.testing.assert_allclose(flipped[1][l], (127 - plain[1][r][0], plain[1][r][1]), atol=1e-6)
  # In the un-flipped crop of this front-facing person, the right hip is on the image's left.
  j = skeleton.JOINT_INDEX
  assert plain[1][j["r_hip"]][0] < plain[1][j["l_hip"]][0]
  assert flipped[1][j["r_hip"]][0] < flipped[1][j["l_hip"]][0]


# The hourglass community's valid.h5 (CI has the shared data beside the repository).
MPII_VAL = REPO / ".." / "shared" / "data" / "mpii_val"


@pytest.fixture
def few_valid_h5(tmp_path):
  """Six real people of valid.h5 (people 2 and 3 have missing joints) in a manual dir."""
  import h5py  # a core dependency: no skip
  if not (MPII_VAL / "valid.h5").is_file():
    pytest.skip(f"valid.h5 is not in {MPII_VAL} (CI has it at ../shared/data)")
  rows = [0, 1, 2, 3, 8, 9]
  with h5py.File(MPII_VAL / "valid.h5", "r") as src, h5py.File(tmp_path / "valid.h5", "w") as dst:
    raw = {k: src[k][()][rows] for k in src}
    for k, v in raw.items():
      dst[k] = v
  return tmp_path, raw


def head_size(box):
  return 0.6 * np.linalg.norm(box[2:] - box[:2])


def test_h5_parsing_is_zero_based_with_missing_joints_and_official_head_sizes(few_valid_h5):
  manual, raw = few_valid_h5
  people = mpii.load_h5(manual / "valid.h5")
  assert len(people) == 6
  assert [int(p.visible.sum()) for p in people] == [16, 16, 14, 14, 16, 16]
  n, t = skeleton.JOINT_INDEX["upper_neck"], skeleton.JOINT_INDEX["head_top"]
  for p, part, center, norm, name in zip(people, raw["part"], raw["center"], raw["normalize"],
                                         raw["imgname"]):
    labelled = ~(part == 0).all(axis=1)
    np.testing.assert_array_equal(p.visible, labelled)
    np.testing.assert_allclose(p.joints[labelled], part[labelled] - 1)
    assert (p.joints[~labelled] == 0).all()
    np.testing.assert_allclose(p.center, center - 1)
    assert p.image == name.decode()
    assert head_size(p.head_box.astype(float)) == pytest.approx(norm, rel=1e-5)
    np.testing.assert_allclose((p.head_box[:2] + p.head_box[2:]) / 2,
                               (p.joints[n] + p.joints[t]) / 2, atol=1e-3)
  assert mpii._find_annotations(manual) == {"train": None, "validation": manual / "valid.h5"}


def test_h5_people_without_images_are_skipped_with_a_count(few_valid_h5, caplog):
  manual, _ = few_valid_h5
  with caplog.at_level(logging.WARNING):
    records = list(mpii.generate_records(mpii.load_h5(manual / "valid.h5"), manual, 256))
  assert records == [] and "6 (missing image)" in caplog.text


def test_the_whole_valid_h5_is_the_standard_split(few_valid_h5):
  import h5py  # a core dependency: no skip
  people = mpii.load_h5(MPII_VAL / "valid.h5")
  with h5py.File(MPII_VAL / "valid.h5", "r") as f:
    normalize = f["normalize"][()]
  assert len(people) == 2958 and sum(int(p.visible.sum()) for p in people) == 44240
  sizes = np.array([head_size(p.head_box.astype(float)) for p in people])
  np.testing.assert_allclose(sizes, normalize, rtol=1e-5)


def test_bad_h5_is_a_clear_error(tmp_path):
  import h5py  # a core dependency: no skip
  with h5py.File(tmp_path / "valid.h5", "w") as f:
    f["part"] = np.zeros((2, 16, 2))
  with pytest.raises(ValueError, match="valid.h5.*needs part, center, scale"):
    mpii.load_h5(tmp_path / "valid.h5")


def test_the_predictor_crops_a_dataset_person_exactly_as_evaluation_does(built):
  """One crop rule (docs/method.md §1): given the original photo and the person's MPII centre
  and scale, `Predictor.crop` cuts the crop that evaluation cuts from the stored example, for
  an MPII config (centre moved down by center_shift = 15 px per unit scale)."""
  from msposejax.config_files import load_config
  from msposejax.inference.predictor import Predictor
  cfg = load_config(REPO / "configs" / "mss8_mpii.py")
  assert cfg.data.center_shift == 15.0
  people = {p.image: p for p in mpii.load_json(SAMPLE / "test_mpii.json")}
  predictor = Predictor(cfg, variables={})  # .crop needs no weights
  source = built.as_data_source("validation")
  for i in range(len(source)):
    rec = source[i]
    person = people[rec["image_name"].decode()]
    ex = eval_example(rec, ExampleSpec.from_config(cfg))
    zoom, offset = float(rec["zoom"]), np.asarray(rec["offset"], np.float64)
    stored_to_original = np.array([[1 / zoom, 0, offset[0]], [0, 1 / zoom, offset[1]], [0, 0, 1]])
    photo = features.decode_image((SAMPLE / person.image).read_bytes())
    crop, crop_to_original = predictor.crop(photo, {"center": person.center,
                                                    "scale": person.scale})
    # The same square of the photo, to a hundredth of a pixel of the photo.
    np.testing.assert_allclose(crop_to_original, stored_to_original @ ex["crop_to_stored"],
                               atol=1e-2)
    # And the same pixels, up to the stored copy's JPEG and resampling.
    assert np.abs(crop.astype(float) - ex["image"].astype(float)).mean() < 6, person.image
