"""The COCO-format builder on ../shared/data/coco_sample (80 real COCO train2017 photos, the
official annotations cut to them; skipped where absent): which instances are kept and why not,
stored crops that map back to the annotation, the held-out split, bad photos, bad names.

Reference counts are computed here from the raw JSON with plain Python, not by the builder's
functions."""

import io
import json
import math
import shutil

import numpy as np
import pytest
from PIL import Image

from msposejax import skeleton
from msposejax.data import coco, pipeline
from tests.conftest import REPO, built_once, load_config, with_field

pytestmark = pytest.mark.xdist_group("coco")

SAMPLE = REPO / ".." / "shared" / "data" / "coco_sample"
ANNOTATIONS = "person_keypoints_train2017.json"
DATASET = "coco/train=person_keypoints_train2017,holdout=10"


def sample() -> dict:
  if not (SAMPLE / ANNOTATIONS).is_file():
    pytest.skip(f"coco_sample not in {SAMPLE.resolve()} (CI has it at ../shared/data/coco_sample)")
  return json.loads((SAMPLE / ANNOTATIONS).read_text())


def sample_config(tfds_dir, dataset=DATASET, manual=SAMPLE):
  config = load_config(REPO / "configs" / "tiny.py")
  config = with_field(config, "data.dataset", dataset)
  config = with_field(config, "data.tfds_data_dir", str(tfds_dir))
  return with_field(config, "data.manual_dir", str(manual))


@pytest.fixture(scope="session")
def built(tmp_path_factory):
  """coco_sample prepared once per session with a 1-in-10 held-out validation split."""
  sample()
  path = built_once(tmp_path_factory, "coco_sample_tfds",
                    lambda path: pipeline.prepare(sample_config(path)))
  return pipeline.builder(sample_config(path))


def expected_counts(data: dict, held_out: bool | None) -> dict[str, int]:
  """Kept and skipped annotations by reason, counted from the raw JSON (HRNet's and mmpose's
  rule): crowd, then no keypoint with v > 0, then a box empty after clipping to the photo."""
  size = {im["id"]: (im["width"], im["height"]) for im in data["images"]}
  counts = {"kept": 0, "crowd": 0, "no keypoints": 0, "empty box": 0}
  for a in data["annotations"]:
    if held_out is not None and (a["image_id"] % 10 == 0) != held_out:
      continue
    w, h = size[a["image_id"]]
    x, y, bw, bh = a["bbox"]
    x1, x2 = min(max(x, 0), w - 1), min(max(x + bw, 0), w - 1)
    y1, y2 = min(max(y, 0), h - 1), min(max(y + bh, 0), h - 1)
    if a["iscrowd"]:
      counts["crowd"] += 1
    elif not any(v > 0 for v in a["keypoints"][2::3]):
      counts["no keypoints"] += 1
    elif not (x2 > x1 and y2 > y1 and a["area"] > 0):
      counts["empty box"] += 1
    else:
      counts["kept"] += 1
  return counts


def test_kept_and_skipped_counts_match_an_independent_count(built):
  data = sample()
  whole = expected_counts(data, None)
  # The sample's README: 172 person annotations, 86 with keypoints (none crowd).
  assert len(data["annotations"]) == 172 and whole["kept"] == 86
  meta = built.info.metadata["split_counts"]
  for split, held_out in (("train", False), ("validation", True)):
    want = expected_counts(data, held_out)
    got = meta[split]
    assert built.info.splits[split].num_examples == got["kept"] == want["kept"], split
    for reason in ("crowd", "no keypoints", "empty box"):
      assert got["skipped"][reason] == want[reason], (split, reason)
    assert got["annotations"] == sum(want.values())
    assert got["skipped"]["missing image"] == got["skipped"]["corrupt image"] == 0
  assert meta["train"]["kept"] + meta["validation"]["kept"] == 86


def records(built, split):
  source = built.as_data_source(split)
  return [source[i] for i in range(len(source))]


def test_stored_records_map_back_to_the_photos_annotations(built):
  data = sample()
  anns = {a["id"]: a for a in data["annotations"]}
  size = {im["id"]: (im["width"], im["height"]) for im in data["images"]}
  crowd_or_empty = {a["id"] for a in data["annotations"]
                    if a["iscrowd"] or not any(a["keypoints"][2::3])}
  seen = set()
  for split in ("train", "validation"):
    for rec in records(built, split):
      a = anns[int(rec["annotation_id"])]
      seen.add(a["id"])
      assert int(rec["image_id"]) == a["image_id"] and rec["area"] == pytest.approx(a["area"])
      kp = np.asarray(a["keypoints"], np.float64).reshape(17, 3)
      np.testing.assert_array_equal(rec["visible"], kp[:, 2] > 0)
      np.testing.assert_array_equal(rec["joint_occluded"], kp[:, 2] == 1)
      back = rec["joints"] / rec["zoom"] + rec["offset"]
      np.testing.assert_allclose(back[rec["visible"]], kp[kp[:, 2] > 0, :2], atol=1e-3)
      # The box, clipped to the photo, maps back too.
      w, h = size[a["image_id"]]
      x, y, bw, bh = a["bbox"]
      x1, y1 = min(max(x, 0), w - 1), min(max(y, 0), h - 1)
      x2, y2 = min(max(x + bw, 0), w - 1), min(max(y + bh, 0), h - 1)
      box = rec["bbox"]
      np.testing.assert_allclose(box[:2] / rec["zoom"] + rec["offset"], (x1, y1), atol=1e-3)
      np.testing.assert_allclose(box[2:] / rec["zoom"], (x2 - x1, y2 - y1), atol=1e-3)
      assert rec["scale"] == pytest.approx(box[3] / 200, rel=1e-5)
      # The stored crop holds the largest top-down crop (4:3 or 3:4 box × 1.25 × 1.35, any
      # rotation), wherever it lies in the photo.
      sw, sh = Image.open(io.BytesIO(rec["image"])).size
      half = 4 / 3 * 1.25 * 1.35 * math.sqrt(2) * max(x2 - x1, y2 - y1) / 2
      cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
      need = np.array([[max(cx - half, 0), max(cy - half, 0)],
                       [min(cx + half, w - 1), min(cy + half, h - 1)]])
      stored = (need - rec["offset"]) * rec["zoom"]
      # Less than one stored px of the photo's own border may fall off a downscaled crop.
      edge = np.where(need[1] == (w - 1, h - 1), 1.0, 0.0) if rec["zoom"] < 1 else 0.0
      assert (stored[0] >= -0.5 - 1e-3).all()
      assert (stored[1] <= np.array([sw, sh]) - 0.5 + edge + 1e-3).all()
  assert len(seen) == 86 and not seen & crowd_or_empty


def test_holdout_is_by_image_deterministic_and_disjoint(built):
  data = sample()
  train = {int(r["image_id"]) for r in records(built, "train")}
  val = {int(r["image_id"]) for r in records(built, "validation")}
  assert train and val and not train & val
  assert all(i % 10 == 0 for i in val) and not any(i % 10 == 0 for i in train)
  # The same rule from the name alone: a second config is the same split.
  again = coco.builder_config("train=person_keypoints_train2017,holdout=10")
  assert again.holdout == 10 and coco.holdout_ids(data, again.holdout) >= val
  # The held-out ground truth: all held-out photos with all their annotations, verbatim.
  gt = json.loads(coco.ground_truth_path(sample_config(built.data_dir_root)).read_text())
  held = {im["id"] for im in data["images"] if im["id"] % 10 == 0}
  assert {im["id"] for im in gt["images"]} == held
  assert gt["annotations"] == [a for a in data["annotations"] if a["image_id"] in held]
  assert gt["categories"] == data["categories"]
  with pytest.raises(FileNotFoundError, match="no ground truth for split 'train'"):
    coco.ground_truth_path(sample_config(built.data_dir_root), "train")


def small_manual_dir(root, data):
  """The sample's annotations with 3 photos that have kept people: one as is, one corrupt,
  one missing (the other photos missing too)."""
  manual = root / "manual"
  (manual / "images").mkdir(parents=True)
  shutil.copy(SAMPLE / ANNOTATIONS, manual / ANNOTATIONS)
  kept = {}
  for a in data["annotations"]:
    if not a["iscrowd"] and any(a["keypoints"][2::3]):
      kept[a["image_id"]] = kept.get(a["image_id"], 0) + 1
  names = {im["id"]: im["file_name"] for im in data["images"]}
  good, corrupt, missing = sorted(kept)[:3]
  shutil.copy(SAMPLE / "images" / names[good], manual / "images")
  (manual / "images" / names[corrupt]).write_bytes(b"\xff\xd8\xff\xe0 not a jpeg")
  return manual, kept, (good, corrupt, missing)


def test_corrupt_and_missing_photos_are_skipped_and_counted(tmp_path, monkeypatch):
  data = sample()
  manual, kept, (good, corrupt, missing) = small_manual_dir(tmp_path, data)
  monkeypatch.chdir(tmp_path)  # a relative manual_dir: the stored photo folder is absolute
  config = sample_config(tmp_path / "tfds", "coco/train=person_keypoints_train2017", "manual")
  pipeline.prepare(config)
  b = pipeline.builder(config)
  counts = b.info.metadata["split_counts"]["train"]
  assert counts["images"] == str(manual / "images")
  assert counts["kept"] == b.info.splits["train"].num_examples == kept[good]
  assert counts["skipped"]["corrupt image"] == kept[corrupt]
  assert counts["skipped"]["missing image"] == sum(kept.values()) - kept[good] - kept[corrupt]
  assert {int(r["image_id"]) for r in records(b, "train")} == {good}


def test_a_split_without_a_usable_person_is_refused(tmp_path):
  data = sample()
  manual, _, _ = small_manual_dir(tmp_path, data)
  for f in (manual / "images").iterdir():
    f.unlink()
  config = sample_config(tmp_path / "tfds", "coco/train=person_keypoints_train2017", manual)
  with pytest.raises(ValueError, match="split 'train' .* has no usable person"):
    pipeline.prepare(config)


def test_names_and_files_are_checked_with_one_clear_error(tmp_path):
  for bad in ("train=a,holdout=x", "validation=a,holdout=5", "nothing", "train=a,colour=red"):
    with pytest.raises(ValueError, match=r"coco/"):
      coco.builder_config(bad)
  assert dict(coco.builder_config("2017").files) == {
      "train": "annotations/person_keypoints_train2017",
      "validation": "annotations/person_keypoints_val2017"}
  assert coco.builder_config("crowdpose").skeleton == "crowdpose"
  sample()
  # A 17-keypoint file read with CrowdPose's 14 joints: refused before anything is built.
  config = sample_config(tmp_path, "coco/train=person_keypoints_train2017,skeleton=crowdpose")
  with pytest.raises(ValueError, match="17 keypoints, the skeleton 14"):
    pipeline.prepare(config)
  config = sample_config(tmp_path, "coco/train=person_keypoints_val2017")
  with pytest.raises(FileNotFoundError, match="person_keypoints_val2017"):
    pipeline.prepare(config)


def test_skip_rules_on_made_up_annotations():
  # Each rule alone, on a 100×50 photo: the first annotation is kept, the others are not.
  kp = [10, 10, 2] + [0, 0, 0] * 16
  base = {"image_id": 1, "category_id": 1, "iscrowd": 0, "keypoints": kp, "area": 50.0}
  data = {"images": [{"id": 1, "width": 100, "height": 50, "file_name": "a.jpg"}],
          "categories": [{"id": 1, "keypoints": list(skeleton.COCO.joint_names)}],
          "annotations": [
              {**base, "id": 1, "bbox": [-5, 40, 20, 30]},       # clipped to [0, 40, 15, 9]
              {**base, "id": 2, "bbox": [5, 5, 10, 10], "iscrowd": 1},
              {**base, "id": 3, "bbox": [5, 5, 10, 10], "keypoints": [0] * 51},
              {**base, "id": 4, "bbox": [120, 5, 10, 10]},       # right of the photo
              {**base, "id": 5, "bbox": [5, 5, 10, 10], "area": 0},
              {**base, "id": 6, "bbox": [5, 5, 10, 10], "category_id": 2},
              {**base, "id": 7, "bbox": [5, 5, 10, 10], "image_id": 9}]}
  kept, skipped = coco.select_instances(data, None, 17)
  assert [i.annotation_id for i in kept[1]] == [1]
  np.testing.assert_allclose(kept[1][0].bbox, (0, 40, 15, 9))
  assert skipped == {"not a person": 1, "crowd": 1, "no keypoints": 1, "empty box": 2,
                     "missing image": 1, "corrupt image": 0}


@pytest.mark.parametrize("box_side", [60.0, 1200.0])   # zoom 1 and zoom ≈ 0.43
def test_stored_pixels_sit_where_offset_and_zoom_say(box_side):
  # A bright 7×7 block on a black photo: its centroid in the stored crop is where the record's
  # mapping puts the block's centre (pixel centres at integers), to a tenth of a stored px.
  photo = np.zeros((1500, 2000, 3), np.uint8)
  photo[807:814, 1203:1210] = 255
  inst = coco.Instance(image_id=1, annotation_id=1, file_name="a.jpg",
                       joints=np.zeros((17, 2)), labels=np.zeros(17, int),
                       bbox=np.array([1206 - box_side / 2, 810 - box_side / 2, box_side,
                                      box_side]), area=1.0)
  rec = coco.crop_record(photo, inst, 384)
  assert (rec["zoom"] == 1.0) == (box_side == 60.0)
  stored = np.asarray(Image.open(io.BytesIO(rec["image"])).convert("L"), np.float64)
  weight = np.clip(stored - 8, 0, None)   # JPEG ringing around the block stays faint
  ys, xs = np.mgrid[:stored.shape[0], :stored.shape[1]]
  centroid = np.array([(xs * weight).sum(), (ys * weight).sum()]) / weight.sum()
  np.testing.assert_allclose(centroid, (np.array([1206.0, 810.0]) - rec["offset"]) * rec["zoom"],
                             atol=0.1)


def test_the_official_2017_layout_works_as_downloaded(tmp_path, built):
  # COCO 2017 as its zips extract: annotations/person_keypoints_{train,val}2017.json and the
  # photos in train2017/ and val2017/. Made of the sample: val = its held-out photos.
  data = sample()
  manual = tmp_path / "coco"
  (manual / "annotations").mkdir(parents=True)
  held = {im["id"] for im in data["images"] if im["id"] % 10 == 0}
  for split, ids in (("train", {im["id"] for im in data["images"]} - held), ("val", held)):
    part = {**data, "images": [im for im in data["images"] if im["id"] in ids],
            "annotations": [a for a in data["annotations"] if a["image_id"] in ids]}
    (manual / "annotations" / f"person_keypoints_{split}2017.json").write_text(json.dumps(part))
    (manual / f"{split}2017").mkdir()
    for im in part["images"]:
      (manual / f"{split}2017" / im["file_name"]).symlink_to(
          (SAMPLE / "images" / im["file_name"]).resolve())
  config = sample_config(tmp_path / "tfds", "coco/2017", manual)
  pipeline.prepare(config)
  b = pipeline.builder(config)
  assert skeleton.from_config(config) is skeleton.COCO
  for split in ("train", "validation"):
    assert b.info.metadata["split_counts"][split]["skipped"] == \
        built.info.metadata["split_counts"][split]["skipped"]
    assert b.info.splits[split].num_examples == built.info.splits[split].num_examples
  assert coco.ground_truth_path(config).read_bytes() == (
      manual / "annotations" / "person_keypoints_val2017.json").read_bytes()


def test_a_crowdpose_format_file_is_one_more_name(tmp_path):
  # CrowdPose's files: 14 joints, no `area`. Made of two sample photos' people, their COCO
  # shoulders…ankles as CrowdPose's first 12 joints, head top and neck unlabelled.
  data = sample()
  ids = sorted({a["image_id"] for a in data["annotations"]
                if not a["iscrowd"] and any(a["keypoints"][2::3][5:])})[:2]
  anns = []
  for a in data["annotations"]:
    if a["image_id"] in ids:
      body = a["keypoints"][3 * 5:]
      anns.append({k: v for k, v in a.items() if k != "area"} | {"keypoints": body + [0] * 6})
  names = [f"l_{n}" if i % 2 == 0 else f"r_{n}" for i, n in enumerate(
      ["shoulder"] * 2 + ["elbow"] * 2 + ["wrist"] * 2 + ["hip"] * 2 + ["knee"] * 2
      + ["ankle"] * 2)] + ["head", "neck"]
  crowd = {"images": [im for im in data["images"] if im["id"] in ids], "annotations": anns,
           "categories": [{"id": 1, "name": "person", "keypoints": names}]}
  manual = tmp_path / "crowdpose"
  (manual / "images").mkdir(parents=True)
  (manual / "mine.json").write_text(json.dumps(crowd))
  for im in crowd["images"]:
    shutil.copy(SAMPLE / "images" / im["file_name"], manual / "images")
  config = sample_config(tmp_path / "tfds", "coco/train=mine,skeleton=crowdpose", manual)
  assert skeleton.from_config(config) is skeleton.CROWDPOSE
  pipeline.prepare(config)
  recs = records(pipeline.builder(config), "train")
  by_id = {a["id"]: a for a in anns}
  assert len(recs) == sum(any(a["keypoints"][2::3]) and not a["iscrowd"] for a in anns)
  for rec in recs:
    a = by_id[int(rec["annotation_id"])]
    kp = np.asarray(a["keypoints"], np.float64).reshape(14, 3)
    assert rec["joints"].shape == (14, 2) and not rec["visible"][12:].any()
    np.testing.assert_allclose((rec["joints"] / rec["zoom"] + rec["offset"])[rec["visible"]],
                               kp[kp[:, 2] > 0, :2], atol=1e-3)
    w, h = rec["bbox"][2:] / rec["zoom"]
    assert rec["area"] == pytest.approx(0.53 * w * h, rel=1e-4)   # mmpose's rule without area


def test_an_evaluation_split_the_evaluator_cannot_read_is_refused_when_prepared(tmp_path):
  """An annotation without num_keypoints in a held-out split: one line at `data prepare`,
  not a failure at the first evaluation of a long training."""
  data = sample()
  manual, _, _ = small_manual_dir(tmp_path, data)
  held_out = next(a for a in data["annotations"] if a["image_id"] % 5 == 0)
  del held_out["num_keypoints"]
  (manual / ANNOTATIONS).write_text(json.dumps(data))
  config = sample_config(tmp_path / "tfds", "coco/train=person_keypoints_train2017,holdout=5",
                         manual)
  with pytest.raises(ValueError, match="has no num_keypoints") as e:
    pipeline.prepare(config)
  assert "\n" not in str(e.value)
