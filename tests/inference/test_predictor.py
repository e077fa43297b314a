"""Predictor restore/predict, `msposejax predict` on real photos, and export parity."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from msposejax.data import geometry
from msposejax.data.features import decode_image
from msposejax.inference import export
from msposejax.inference.predictor import Predictor, person_box
from tests.conftest import REPO

SAMPLE = REPO / "tests" / "fixtures" / "mpii_sample"


pytestmark = pytest.mark.xdist_group("predictor")


@pytest.fixture
def workdir(tiny_run):
  return tiny_run[0]  # trained on 8 fake devices with FSDP-sharded parameters


def photo(name="052475643.jpg"):
  return decode_image((SAMPLE / name).read_bytes())


def test_restore_from_workdir_or_step_dir_needs_only_the_path(workdir):
  a = Predictor.from_checkpoint(workdir)
  b = Predictor.from_checkpoint(workdir / "checkpoints" / "4")
  assert a.step == b.step == 4 and a.input_size == 64
  image = photo()
  ra, rb = a(image), b(image)
  assert ra["keypoints"].shape == (16, 2) and ra["scores"].shape == (16,)
  np.testing.assert_allclose(ra["keypoints"], rb["keypoints"])


def test_a_given_config_of_the_checkpoints_model_sets_how_it_predicts(workdir):
  """`predict --config C`: C's settings (here its decoding) on the checkpoint's weights; a C
  of another model is refused, naming the field."""
  import ml_collections
  own = Predictor.from_checkpoint(workdir)
  given = ml_collections.ConfigDict(own.config.to_dict())
  given.decode.method = "parabola" if own.config.decode.method == "quarter" else "quarter"
  mine = Predictor.from_checkpoint(workdir, config=given)
  assert mine.config.decode.method == given.decode.method != own.config.decode.method
  ours, theirs = own(photo())["keypoints"], mine(photo())["keypoints"]
  assert not np.allclose(ours, theirs)  # the same weights, decoded the other way
  assert np.abs(ours - theirs).max() < 2 * 256 / 16  # (within a heatmap pixel's reach)
  other = ml_collections.ConfigDict(own.config.to_dict())
  other.model.msr_residual = not own.config.model.msr_residual  # same arrays, another model
  with pytest.raises(ValueError, match=r"step 4 holds a checkpoint of another model "
                     r"\(model\.msr_residual: checkpoint .* vs config .*\); give --config of the "
                     r"checkpoint's model, or none"):
    Predictor.from_checkpoint(workdir, config=other)


def test_batched_equals_one_by_one_and_box_maps_back(workdir):
  pred = Predictor.from_checkpoint(workdir)
  images = [photo(f.name) for f in sorted(SAMPLE.glob("*.jpg"))]
  boxes = [None, (100, 50, 400, 500), None, (10, 10, 200, 300), None]
  batched = pred.predict(images, boxes)
  for im, box, res in zip(images, boxes, batched):
    single = pred(im, box)
    np.testing.assert_allclose(res["keypoints"], single["keypoints"], atol=1e-3)
  # The box's crop, mapped back, lands inside the box (margin: training's 1.25 enlargement).
  crop, to_image = pred.crop(images[1], boxes[1])
  corners = geometry.apply_affine(to_image, [[-0.5, -0.5], [63.5, 63.5]])
  centre, side = person_box(images[1].shape, boxes[1], scale_factor=1.25, center_shift=0.0)
  np.testing.assert_allclose(corners.mean(axis=0), centre + [-0.0, -0.0], atol=1e-6)
  np.testing.assert_allclose(corners[1] - corners[0], [side, side], rtol=1e-6)


def test_bad_inputs_are_clear_errors(workdir, tmp_path):
  pred = Predictor.from_checkpoint(workdir)
  with pytest.raises(ValueError, match="uint8 RGB"):
    pred(np.zeros((10, 10), np.uint8))
  with pytest.raises(ValueError, match="x2 > x1"):
    pred(photo(), box=(10, 10, 5, 40))
  with pytest.raises(FileNotFoundError, match="neither a training workdir"):
    Predictor.from_checkpoint(tmp_path)


@pytest.mark.parametrize("box, message", [
    ((10, 10, 5, 40), "x2 > x1"), ((1, 2, 3), "4 numbers"), ((0, float("nan"), 5, 5), "x2 > x1"),
    ("abcd", "4 numbers"), ((700, 10, 900, 40), "entirely outside"),
    ((-300, -300, -1, -1), "entirely outside"), ({"center": (5, 5), "scale": 0}, "s > 0"),
    ({"center": (5,), "scale": 1}, "center"), ({"center": (5000, 10), "scale": 1}, "outside")])
def test_person_box_refuses_bad_and_outside_boxes(box, message):
  with pytest.raises(ValueError, match=message):
    person_box((480, 640, 3), box, scale_factor=1.25, center_shift=0.0)


def test_person_box_accepts_a_box_partly_outside_the_image():
  centre, side = person_box((480, 640, 3), (600, -20, 700, 100), scale_factor=1.25,
                            center_shift=0.0)
  np.testing.assert_allclose(centre, [650, 40])
  np.testing.assert_allclose(side, 120 * 1.25)


def test_predict_command_on_real_photos(workdir, tmp_path):
  images = tmp_path / "images"
  shutil.copytree(SAMPLE, images, ignore=shutil.ignore_patterns("*.json", "*.md"))
  (images / "corrupt.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
  (tmp_path / "boxes.json").write_text(json.dumps(
      {"060754485.jpg": [[300, 100, 700, 700], [1, 2, 3], [700, 100, 1000, 700],
                         [float("nan"), 0, 10, 10], [5000, 5000, 6000, 6000]],
       "005808361.jpg": [{"center": [100, 100], "scale": 0}]}))
  out = tmp_path / "out"
  proc = subprocess.run([sys.executable, "-m", "msposejax.main", "predict", "--checkpoint",
                         str(workdir), "--images", str(images), "--boxes",
                         str(tmp_path / "boxes.json"), "--out", str(out)],
                        cwd=REPO, capture_output=True, text=True, timeout=300)
  assert proc.returncode == 0, proc.stderr[-2000:]
  result = json.loads((out / "predictions.json").read_text())
  assert len(result["images"]) == 5 and list(result["skipped"]) == [str(images / "corrupt.jpg")]
  # Bad boxes are reported with their image and skipped; the good ones of that image kept.
  assert len(result["images"]["060754485.jpg"]) == 2
  assert [b["image"] for b in result["skipped_boxes"]] == ["005808361.jpg"] + [
      "060754485.jpg"] * 3  # images in name order, boxes in file order
  assert "s > 0" in result["skipped_boxes"][0]["reason"]
  assert "4 numbers" in result["skipped_boxes"][1]["reason"]
  assert "entirely outside" in result["skipped_boxes"][3]["reason"]
  assert "4 bad boxes" in proc.stdout
  assert result["images"]["005808361.jpg"] == []
  for people in result["images"].values():
    for person in people:
      assert np.asarray(person["keypoints"]).shape == (16, 2) and len(person["scores"]) == 16
  # The overlay changes the photo only along the drawn skeleton, and at every joint.
  name = "052475643"
  original = decode_image((SAMPLE / f"{name}.jpg").read_bytes()).astype(int)
  overlay = np.asarray(Image.open(out / f"{name}.png").convert("RGB")).astype(int)
  changed = np.abs(overlay - original).sum(axis=2) > 0
  assert 0.0005 < changed.mean() < 0.2
  for x, y in np.asarray(result["images"][f"{name}.jpg"][0]["keypoints"]):
    xi, yi = int(round(x)), int(round(y))
    if 0 <= xi < original.shape[1] and 0 <= yi < original.shape[0]:
      assert changed[yi, xi]


def test_export_runs_without_model_code_and_matches(workdir, tmp_path):
  pred = Predictor.from_checkpoint(workdir)
  export.export_predictor(pred, str(tmp_path / "model"))
  fn = export.load(str(tmp_path / "model"))
  crops = np.stack([pred.crop(photo(f.name))[0] for f in sorted(SAMPLE.glob("*.jpg"))[:3]])
  coords, scores = fn(crops)
  live_coords, live_scores = pred._predict(pred.variables, crops)  # pylint: disable=protected-access
  np.testing.assert_allclose(coords, live_coords, atol=1e-4)
  np.testing.assert_allclose(scores, live_scores, atol=1e-5)
  meta = json.loads((tmp_path / "model" / "metadata.json").read_text())
  assert meta["input_size"] == 64 and len(meta["joint_names"]) == 16


def test_checkpoint_of_another_model_is_a_clear_error(workdir, tmp_path):
  copy = tmp_path / "run"
  shutil.copytree(workdir, copy)
  for path in (copy / "checkpoints" / "4" / "config").rglob("*"):
    if path.is_file() and '"features": 32' in path.read_text(errors="ignore"):
      path.write_text(path.read_text().replace('"features": 32', '"features": 24'))
      break
  else:
    pytest.fail("saved config not found")
  with pytest.raises(ValueError, match="does not match the model its config describes"):
    Predictor.from_checkpoint(copy)


def test_center_and_scale_crop_as_in_training(workdir):
  pred = Predictor.from_checkpoint(workdir)
  image = photo()
  by_centre = pred(image, center=(300.0, 200.0), scale=1.2)
  by_dict = pred.predict([image], [{"center": (300.0, 200.0), "scale": 1.2}])[0]
  np.testing.assert_allclose(by_centre["keypoints"], by_dict["keypoints"])
  # 200·s·1.25 = 300 px around the centre: the crop of a 240-px box (240·1.25) there.
  by_box = pred(image, box=(180.0, 80.0, 420.0, 320.0))
  np.testing.assert_allclose(by_centre["keypoints"], by_box["keypoints"], atol=1e-3)
  with pytest.raises(ValueError, match="center and scale together"):
    pred(image, center=(1.0, 2.0))


def test_predict_writes_the_mpii_submission_file(workdir, tmp_path):
  """People given by centre and scale (as the official test annolist has them), written as
  the 1-based pos_pred_src (16, 2, N) that the MPII evaluation and `msposejax score` read."""
  import scipy.io
  from msposejax.data import mpii
  from msposejax.inference.predict_files import predict_files
  people = mpii.load_json(SAMPLE / "test_mpii.json")
  boxes = {}
  for p in people:
    boxes.setdefault(p.image, []).append({"center": p.center.tolist(), "scale": p.scale})
  (tmp_path / "boxes.json").write_text(json.dumps(boxes))
  predictor = Predictor.from_checkpoint(workdir)
  out = predict_files(predictor, [str(SAMPLE)], str(tmp_path / "out"),
                      str(tmp_path / "boxes.json"), submission=str(tmp_path / "sub.mat"))
  pos = scipy.io.loadmat(str(tmp_path / "sub.mat"))["pos_pred_src"]
  assert pos.shape == (16, 2, len(people))
  ours = np.asarray([q["keypoints"] for entries in out["images"].values() for q in entries])
  np.testing.assert_allclose(pos.transpose(2, 0, 1), ours + 1.0, atol=0.01)
