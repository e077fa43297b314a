"""configs/coco_cpu.py end to end on ../shared/data/coco_sample, as a user runs it: prepare,
train, evaluate (OKS AP over the held-out photos), then eval, predict with a detector's boxes
and score the results, each through the command line.

One short `msposejax train` (one stack, 16 channels, 3 steps: the path, not the model) serves
every test here; the references are computed from the raw annotation file in the test.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from msposejax.evaluation import coco_eval
from tests.conftest import REPO, built_once
from tests.training.conftest import cli_env

SAMPLE = REPO.parent / "shared" / "data" / "coco_sample"
ANNOTATIONS = SAMPLE / "person_keypoints_train2017.json"
HOLDOUT = 5  # configs/coco_cpu.py: images whose id is a multiple of 5 are the validation split
# A group of its own: its programs (17 joints, 128×96) share nothing with the other CLI
# trainings, so it runs beside them rather than after them.
pytestmark = [pytest.mark.xdist_group("coco_training"), pytest.mark.skipif(
    not ANNOTATIONS.is_file(), reason=f"COCO sample not found at {SAMPLE}")]


def _msposejax(*args, timeout=600):
  return subprocess.run([sys.executable, "-m", "msposejax.main", *map(str, args)], cwd=REPO,
                        env=cli_env(1), capture_output=True, text=True, timeout=timeout)


def _overrides(root):
  return ["--config", REPO / "configs" / "coco_cpu.py",
          f"--config.data.tfds_data_dir={root / 'tfds'}",
          f"--config.data.manual_dir={SAMPLE}", "--config.model.num_stacks=1",
          "--config.model.features=16", "--config.model.stem_features=(8,16)",
          "--config.total_steps=3", "--config.log_every=1", "--config.checkpoint.every=0",
          "--config.batch_size=8", "--config.eval_batch_size=8",
          "--config.data.worker_count=0", "--config.num_visualize=2"]


@pytest.fixture(scope="module")
def coco_run(tmp_path_factory):
  def build(root):
    proc = _msposejax("train", *_overrides(root), "--workdir", root / "run")
    (root / "train.log").write_text(proc.stdout + proc.stderr)
    assert proc.returncode == 0, proc.stdout + proc.stderr
  root = built_once(tmp_path_factory, "coco_cpu_run", build)
  return root


def _held_out_people():
  """People of the validation split, from the raw file: image id % 5 == 0, not a crowd, at
  least one labelled keypoint, a positive area and a box with a positive size once clipped to
  the photo as mmpose clips it."""
  data = json.loads(ANNOTATIONS.read_text())
  sizes = {im["id"]: (im["width"], im["height"]) for im in data["images"]
           if im["id"] % HOLDOUT == 0}

  def clipped_size(a):
    w, h = sizes[a["image_id"]]
    x, y, bw, bh = a["bbox"]
    return (np.clip(x + bw, 0, w - 1) - np.clip(x, 0, w - 1),
            np.clip(y + bh, 0, h - 1) - np.clip(y, 0, h - 1))

  people = [a for a in data["annotations"] if a["image_id"] in sizes and not a["iscrowd"]
            and max(a["keypoints"][2::3]) > 0 and a["area"] > 0 and min(clipped_size(a)) > 0]
  return set(sizes), people


def test_training_evaluates_oks_ap_on_the_held_out_photos(coco_run):
  final = json.loads((coco_run / "run" / "final_metrics.json").read_text())
  images, people = _held_out_people()
  assert final["boxes"] == "ground truth"
  assert final["num_images"] == len(images) and final["num_boxes"] == len(people)
  assert 0 < final["num_results"] <= len(people)
  assert set(coco_eval.STAT_KEYS) <= set(final)
  assert all(-1.0 <= final[k] <= 1.0 for k in coco_eval.STAT_KEYS)
  log = (coco_run / "train.log").read_text()
  assert "AP .75" in log and "coco_results.json" in log  # the table and where results went
  # The checkpoint's metric is named for what it holds.
  saved = json.loads((coco_run / "run" / "checkpoints" / "3" / "metrics" / "metrics")
                     .read_text())
  assert saved == {"oks_ap": pytest.approx(final["oks_ap"])}


def test_the_results_file_scores_to_what_training_reported(coco_run, tmp_path):
  """`msposejax score` on the written results and the prepared ground truth = the training's
  own numbers (one evaluator, one file: nothing lost in writing or reading)."""
  final = json.loads((coco_run / "run" / "final_metrics.json").read_text())
  gt = next((coco_run / "tfds").rglob("ground_truth_validation.json"))
  proc = _msposejax("score", "--predictions", coco_run / "run" / "coco_results.json",
                    "--ground-truth", gt, "--json", tmp_path / "score.json")
  assert proc.returncode == 0, proc.stderr
  scored = json.loads((tmp_path / "score.json").read_text())
  for key in coco_eval.STAT_KEYS:
    assert scored[key] == pytest.approx(final[key], abs=1e-9), key


def test_predict_takes_a_detectors_boxes_and_writes_coco_results(coco_run, tmp_path):
  data = json.loads(ANNOTATIONS.read_text())
  chosen = [790, 227000]  # several people each
  dets = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.9}
          for a in data["annotations"] if a["image_id"] in chosen and not a["iscrowd"]]
  dets.append({"image_id": 790, "category_id": 1, "bbox": [1, 1, 30, 40], "score": 0.01})
  # A photo named otherwise, matched by the detections' "file_name": its rows keep their id.
  (tmp_path / "party.jpg").write_bytes((SAMPLE / "images" / "000000030752.jpg").read_bytes())
  dets.append({"image_id": 30752, "file_name": "party.jpg", "category_id": 1,
               "bbox": [50, 40, 120, 200], "score": 0.7})
  (tmp_path / "dets.json").write_text(json.dumps(dets))
  photos = [SAMPLE / "images" / f"{i:012d}.jpg" for i in chosen] + [tmp_path / "party.jpg"]
  proc = _msposejax("predict", "--checkpoint", coco_run / "run", "--images",
                    ",".join(map(str, photos)), "--detections", tmp_path / "dets.json",
                    "--min_box_score", "0.05", "--out", tmp_path / "out")
  assert proc.returncode == 0, proc.stderr
  result = json.loads((tmp_path / "out" / "predictions.json").read_text())
  kept = [d for d in dets if d["score"] >= 0.05]
  assert sum(len(v) for v in result["images"].values()) == len(kept)
  assert result["dropped_detections"] == {"below_min_score": 1, "unmatched": 0}
  assert result["whole_image"] == []
  rows = json.loads((tmp_path / "out" / "coco_results.json").read_text())
  assert {r["image_id"] for r in rows} == {*chosen, 30752} and 0 < len(rows) <= len(kept)
  assert all(len(r["keypoints"]) == 51 and np.isfinite(r["score"]) for r in rows)
  assert (tmp_path / "out" / "000000000790.png").is_file()


def test_eval_scores_a_detectors_boxes(coco_run, tmp_path):
  """`msposejax eval` with `topdown.detections`: the boxes come from the file (a low-scoring
  one dropped by `min_box_score`), and the results are written beside the checkpoint."""
  from msposejax.config_files import load_config
  from msposejax.training.eval_checkpoint import evaluate_checkpoint
  images, people = _held_out_people()
  dets = [{"image_id": a["image_id"], "category_id": 1, "bbox": a["bbox"], "score": 0.8}
          for a in people]
  dets.append({"image_id": people[0]["image_id"], "category_id": 1, "bbox": [0, 0, 9, 9],
               "score": 0.05})
  (tmp_path / "dets.json").write_text(json.dumps(dets))
  config = load_config(REPO / "configs" / "coco_cpu.py")
  with config.unlocked():
    config.data.tfds_data_dir = str(coco_run / "tfds")
    config.data.manual_dir = str(SAMPLE)
    config.model.num_stacks = 1
    config.model.features = 16
    config.model.stem_features = (8, 16)
    config.eval_batch_size = 8
    config.data.worker_count = 0
    config.topdown.detections = str(tmp_path / "dets.json")
    config.topdown.min_box_score = 0.1
  report = evaluate_checkpoint(config, coco_run / "run", 3)
  assert report["boxes"] == str(tmp_path / "dets.json")
  assert report["num_boxes"] == len(people) and report["dropped_boxes"] == {"below_min_score": 1}
  assert (coco_run / "run" / "eval_step3_coco_results.json").is_file()
  assert all(-1.0 <= report[k] <= 1.0 for k in coco_eval.STAT_KEYS)
