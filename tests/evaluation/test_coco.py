"""COCO keypoint evaluation: rescoring and OKS-NMS against by-hand numbers, `msposejax score`
against faster-coco-eval (and pycocotools where installed) called directly, bad results files."""

import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from msposejax import score_command, skeleton
from msposejax.evaluation import coco, coco_eval

pytestmark = pytest.mark.xdist_group("coco_eval")

# CI has the shared data beside the repository, at ../shared/data.
SAMPLE = (pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "data" /
          "coco_sample" / "person_keypoints_train2017.json")
needs_sample = pytest.mark.skipif(not SAMPLE.is_file(), reason=f"no COCO sample at {SAMPLE}")
# COCO's per-joint OKS constants as the COCO keypoint evaluation page prints them.
COCO_SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07,
                        .87, .87, .89, .89]) / 10
K = 17


def person(x0, y0, scale=1.0):
  """(K, 2) a stick figure at (x0, y0): every joint at a different place."""
  j = np.arange(K, dtype=np.float64)
  return np.stack([x0 + scale * 3 * (j % 5), y0 + scale * 6 * j], axis=1)


def annotation(ann_id, image_id, xy, area, visible=None):
  v = np.full(K, 2) if visible is None else np.asarray(visible)
  kps = np.concatenate([xy, v[:, None]], 1)
  kps[v == 0] = 0
  x, y = xy[v > 0].min(0)
  w, h = xy[v > 0].max(0) - (x, y)
  return {"id": ann_id, "image_id": image_id, "category_id": 1, "iscrowd": 0,
          "area": float(area), "bbox": [float(x), float(y), float(w), float(h)],
          "num_keypoints": int((v > 0).sum()), "keypoints": kps.ravel().tolist()}


def tiny_gt():
  """Two images, three people (one with five joints unlabelled), large and medium."""
  anns = [annotation(1, 10, person(100, 50, 3), 150 * 300),
          annotation(2, 10, person(400, 60, 3), 140 * 310),
          annotation(3, 11, person(30, 20), 60 * 70, visible=[2] * 12 + [0] * 5)]
  return {"images": [{"id": 10, "width": 640, "height": 480, "file_name": "a.jpg"},
                     {"id": 11, "width": 320, "height": 240, "file_name": "b.jpg"}],
          "annotations": anns,
          "categories": [{"id": 1, "name": "person", "keypoints": [f"j{i}" for i in range(K)],
                          "skeleton": []}]}


def noisy_rows(gt, seed, false_positives=True):
  """Each labelled person's ground truth + noise (σ ∝ its size), and some false positives."""
  rng = np.random.default_rng(seed)
  rows = []
  for a in gt["annotations"]:
    if a["iscrowd"] or a["num_keypoints"] == 0:
      continue
    kp = np.asarray(a["keypoints"], np.float64).reshape(-1, 3)
    xy = kp[:, :2] + rng.normal(0, 0.05 * math.sqrt(a["area"]), (len(kp), 2))
    for shift in ([0, 0], [a["bbox"][2] / 3, 0]) if false_positives else ([0, 0],):
      rows.append({"image_id": a["image_id"], "category_id": 1,
                   "keypoints": np.concatenate([xy + shift, rng.uniform(0, 1, (len(kp), 1))],
                                               1).ravel().tolist(),
                   "score": float(rng.uniform(0.1, 1))})
  return rows


def direct_faster(gt_path, res_path, iou_type="keypoints", **kwargs):
  from faster_coco_eval import COCO, COCOeval_faster
  gt = COCO(str(gt_path))
  ev = COCOeval_faster(gt, gt.loadRes(str(res_path)), iou_type, **kwargs)
  ev.evaluate()
  ev.accumulate()
  ev.summarize()
  return np.asarray(ev.stats)


def direct_pycocotools(gt_path, res_path):
  from pycocotools.coco import COCO
  from pycocotools.cocoeval import COCOeval
  gt = COCO(str(gt_path))
  ev = COCOeval(gt, gt.loadRes(str(res_path)), "keypoints")
  ev.evaluate()
  ev.accumulate()
  ev.summarize()
  return np.asarray(ev.stats)


def write(tmp_path, name, data):
  path = tmp_path / name
  path.write_text(json.dumps(data))
  return path


# --- rescoring and OKS-NMS, by hand -------------------------------------------------------

def test_rescoring_is_box_score_times_the_mean_of_keypoint_scores_above_0_2():
  kps = np.full((3, K), 0.1)
  kps[0, :3] = (0.9, 0.5, 0.2)       # 0.2 itself does not count: mean (0.9 + 0.5) / 2
  kps[1, :] = 0.6
  got = coco.rescore([0.8, 0.5, 0.9], kps)
  np.testing.assert_allclose(got, [0.8 * 0.7, 0.5 * 0.6, 0.0], rtol=1e-12)


def by_hand_oks(a, b, area_a, area_b):
  total = 0.0
  for j in range(K):
    d2 = (a[j, 0] - b[j, 0]) ** 2 + (a[j, 1] - b[j, 1]) ** 2
    total += math.exp(-d2 / (2 * COCO_SIGMAS[j]) ** 2 / ((area_a + area_b) / 2) / 2)
  return total / K


def test_oks_between_two_overlapping_people_is_the_formula():
  a, b = person(100, 50, 2), person(103, 52, 2.1)
  got = coco.oks(a, b[None], 9000.0, np.array([11000.0]), COCO_SIGMAS)
  assert got.shape == (1,)
  assert got[0] == pytest.approx(by_hand_oks(a, b, 9000.0, 11000.0), rel=1e-9)
  assert 0.5 < got[0] < 0.99  # a real overlap, not a trivial 0 or 1


def test_oks_nms_keeps_the_best_of_overlapping_people_and_the_far_one():
  a = person(100, 50, 2)
  near = a + 1.0                          # OKS ≈ 0.97 with a: a duplicate
  far = person(400, 50, 2)
  areas = np.full(3, 10000.0)
  assert by_hand_oks(a, near, 1e4, 1e4) > 0.9
  keep = coco.oks_nms(np.stack([near, far, a]), np.array([0.6, 0.5, 0.7]), areas, COCO_SIGMAS)
  assert keep.tolist() == [2, 1]          # a (best), then far; near is suppressed by a
  keep = coco.oks_nms(np.stack([near, far, a]), np.array([0.8, 0.5, 0.7]), areas, COCO_SIGMAS)
  assert keep.tolist() == [0, 1]


def test_oks_nms_threshold_boundary_keeps_an_oks_equal_to_it():
  a, b = person(100, 50, 2), person(104, 53, 2)
  # the exact value the NMS compares (equal to the formula: the test above)
  o = coco.oks(a, b[None], 1e4, np.full(1, 1e4), COCO_SIGMAS)[0]
  assert o == pytest.approx(by_hand_oks(a, b, 1e4, 1e4), rel=1e-9)
  args = (np.stack([a, b]), np.array([0.9, 0.8]), np.full(2, 1e4), COCO_SIGMAS)
  assert coco.oks_nms(*args, threshold=o).tolist() == [0, 1]
  assert coco.oks_nms(*args, threshold=np.nextafter(o, 0)).tolist() == [0]
  # and the default 0.9 sits between a pair at OKS ≈ 0.85 and one at ≈ 0.95
  for shift, kept in ((4.0, 2), (1.5, 1)):
    c = a + shift
    assert (by_hand_oks(a, c, 1e4, 1e4) > 0.9) == (kept == 1)
    assert len(coco.oks_nms(np.stack([a, c]), np.array([0.9, 0.8]), np.full(2, 1e4),
                            COCO_SIGMAS)) == kept


def test_oks_nms_row_by_row_for_crowded_images_keeps_the_same_people(monkeypatch):
  rng = np.random.default_rng(5)
  keypoints = person(100, 50, 2)[None] + rng.normal(0, 2.5, (40, K, 2))
  args = (keypoints, rng.uniform(0, 1, 40), rng.uniform(8e3, 12e3, 40), COCO_SIGMAS)
  matrix = coco.oks_nms(*args)
  assert 1 < len(matrix) < 40                 # some suppressed, some kept
  monkeypatch.setattr(coco, "_MATRIX_MAX", 0)
  assert coco.oks_nms(*args).tolist() == matrix.tolist()


def test_rescore_and_nms_groups_by_image_and_rows_are_coco_results():
  a = person(100, 50, 2)
  image_ids = [7, 5, 7, 5]
  keypoints = np.stack([a, a, a + 0.5, person(400, 50, 2)])
  scores = np.full((4, K), 0.5)
  scores[2] = 0.9                              # the duplicate on image 7 rescored higher
  rows = coco.results_rows(image_ids, keypoints, scores, np.ones(4), np.full(4, 1e4),
                           COCO_SIGMAS)
  # image 7 first (first seen), its duplicate pair down to the better one; image 5's two
  # people are the same shape as image 7's but apart: both stay
  assert [(r["image_id"], r["score"]) for r in rows] == [(7, 0.9), (5, 0.5), (5, 0.5)]
  assert rows[0]["keypoints"][:3] == [a[0, 0] + 0.5, a[0, 1] + 0.5, 0.9]
  assert all(r["category_id"] == 1 and len(r["keypoints"]) == 3 * K for r in rows)
  assert set(rows[0]) == {"image_id", "category_id", "keypoints", "score"}
  json.dumps(rows)  # plain Python numbers


# --- the evaluator ------------------------------------------------------------------------

def test_one_person_ap_is_the_share_of_oks_thresholds_its_oks_reaches():
  """By hand: with one person and one prediction, AP = AR = the fraction of the thresholds
  0.50, 0.55, ..., 0.95 at or below its OKS (COCO's: the ground truth's area, labelled joints)."""
  gt = tiny_gt()
  gt["annotations"] = gt["annotations"][:1]
  gt["images"] = gt["images"][:1]
  a = gt["annotations"][0]
  xy = np.asarray(a["keypoints"]).reshape(-1, 3)[:, :2]
  pred = xy + [14.0, 10.0]
  oks = np.mean(np.exp(-(14.0 ** 2 + 10.0 ** 2) / (2 * COCO_SIGMAS) ** 2 / a["area"] / 2))
  assert 0.72 < oks < 0.74
  rows = coco.to_rows([10], pred[None], np.ones((1, K)), [0.9])
  stats = coco_eval.evaluate(gt, rows, skeleton.get("coco"))
  expected = np.mean(np.linspace(0.5, 0.95, 10) <= oks)
  assert stats["oks_ap"] == pytest.approx(expected, abs=1e-9)
  assert stats["oks_ar"] == pytest.approx(expected, abs=1e-9)
  assert stats["oks_ap50"] == 1.0 and stats["oks_ap75"] == 0.0
  assert stats["oks_apm"] == -1.0 and stats["oks_apl"] == pytest.approx(expected)


def test_score_of_a_tiny_ground_truth_equals_the_evaluator_called_directly(tmp_path):
  gt = tiny_gt()
  rows = noisy_rows(gt, seed=1)
  gt_path, res_path = write(tmp_path, "gt.json", gt), write(tmp_path, "res.json", rows)
  before = json.dumps(rows)
  report = score_command.score_coco(str(res_path), str(gt_path))
  direct = direct_faster(gt_path, res_path)
  got = np.array([report[k] for k in coco_eval.STAT_KEYS])
  np.testing.assert_allclose(got, direct[:10], atol=1e-6)
  assert 0.1 < report["oks_ap"] < 0.99 and report["num_people"] == 3
  # evaluate leaves the caller's rows and ground truth as they were
  coco_eval.evaluate(gt, rows)
  assert json.dumps(rows) == before and "ignore" not in gt["annotations"][0]


@needs_sample
def test_score_equals_the_evaluators_on_noisy_predictions_of_the_sample(tmp_path, capsys):
  gt = json.loads(SAMPLE.read_text())
  res_path = write(tmp_path, "res.json", noisy_rows(gt, seed=0))
  out = tmp_path / "report.json"
  assert score_command.run(str(res_path), str(SAMPLE), str(out)) == 0
  report = json.loads(out.read_text())
  got = np.array([report[k] for k in coco_eval.STAT_KEYS])
  np.testing.assert_allclose(got, direct_faster(SAMPLE, res_path)[:10], atol=1e-6)
  try:
    np.testing.assert_allclose(got, direct_pycocotools(SAMPLE, res_path), atol=1e-6)
  except ImportError:
    pass  # pycocotools is not a dependency: the cross-check runs where it is installed
  assert 0.2 < report["oks_ap"] < 0.95 and report["num_people"] == 86
  text = capsys.readouterr().out
  assert "AP .75" in text and "AR (L)" in text and f"{100 * report['oks_ap']:.2f}" in text


def test_crowdpose_ground_truth_uses_its_sigmas_and_protocol(tmp_path):
  """14 joints, a crowdIndex per image, no "area": CrowdPose's sigmas and AP (E/M/H)."""
  k14 = 14
  gt = tiny_gt()
  gt["categories"][0]["keypoints"] = [f"j{i}" for i in range(k14)]
  for im, ci in zip(gt["images"], (0.05, 0.5)):
    im["crowdIndex"] = ci
  for a in gt["annotations"]:
    kp = np.asarray(a["keypoints"]).reshape(-1, 3)[:k14]
    a["keypoints"] = kp.ravel().tolist()
    a["num_keypoints"] = int((kp[:, 2] > 0).sum())
    del a["area"]
  rng = np.random.default_rng(3)
  rows = [{"image_id": a["image_id"], "category_id": 1, "score": 0.9,
           "keypoints": (np.asarray(a["keypoints"]).reshape(-1, 3)
                         + np.c_[rng.normal(0, 3, (k14, 2)), np.zeros(k14)]
                         ).ravel().tolist()}
          for a in gt["annotations"]]
  gt_path, res_path = write(tmp_path, "gt.json", gt), write(tmp_path, "res.json", rows)
  stats = coco_eval.evaluate(gt_path, res_path)
  sigmas = list(skeleton.get("crowdpose").sigmas)
  direct = direct_faster(gt_path, res_path, "keypoints_crowd", kpt_oks_sigmas=sigmas,
                         use_area=False)
  assert tuple(stats) == coco_eval.CROWD_STAT_KEYS
  np.testing.assert_allclose([stats[k] for k in coco_eval.CROWD_STAT_KEYS], direct[:9],
                             atol=1e-6)
  # the sigmas matter: COCO's first 14 would score differently
  other = direct_faster(gt_path, res_path, "keypoints_crowd", kpt_oks_sigmas=list(
      COCO_SIGMAS[:k14]), use_area=False)
  assert abs(other[0] - stats["oks_ap"]) > 1e-3


# --- bad results: one line, exit 2 --------------------------------------------------------

BAD_CASES = {
    "wrong joint count": (lambda r: r[1].update(keypoints=r[1]["keypoints"][:42]),
                          "result 1 has 42 keypoint values where the ground truth's 17 joints"),
    "nan": (lambda r: r[2]["keypoints"].__setitem__(4, float("nan")),
            "result 2 keypoint value 4 (joint 1) is nan"),
    "inf score": (lambda r: r[0].update(score=float("inf")), "result 0 score is inf"),
    "unknown image": (lambda r: r[3].update(image_id=999),
                      "1 results have image ids not in the ground truth (first: 999)"),
    "missing field": (lambda r: r[1].pop("score"), "result 1 has no 'score'"),
    "empty": (lambda r: r.clear(), "has no results"),
    "not a list": (None, "not a COCO results file"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_results_are_a_one_line_error_and_exit_2(case, tmp_path, capsys):
  gt = tiny_gt()
  rows = noisy_rows(gt, seed=2)
  breaks, message = BAD_CASES[case]
  if breaks is None:
    rows = {"annotations": rows}
  else:
    breaks(rows)
  res_path = write(tmp_path, "res.json", rows)
  code = score_command.run(str(res_path), str(write(tmp_path, "gt.json", gt)), None)
  captured = capsys.readouterr()
  assert code == 2 and captured.out == ""
  assert captured.err.count("\n") == 1 and captured.err.startswith("msposejax: error: ")
  assert str(res_path) in captured.err and message in captured.err, captured.err


def test_a_ground_truth_no_oks_skeleton_fits_is_a_one_line_error(tmp_path, capsys):
  gt = tiny_gt()
  gt["categories"][0]["keypoints"] = ["a", "b", "c", "d", "e"]
  for a in gt["annotations"]:
    a["keypoints"] = a["keypoints"][:15]
  gt_path = write(tmp_path, "gt.json", gt)
  assert score_command.run(str(write(tmp_path, "r.json", [])), str(gt_path), None) == 2
  err = capsys.readouterr().err
  assert err.count("\n") == 1 and f"{gt_path}: no skeleton with OKS sigmas has 5 joints" in err


@pytest.mark.parametrize("field, value, message", [
    ("num_keypoints", None, "annotation 1 has no num_keypoints"),
    ("id", 0, "annotation 1 has id 0, which COCO's evaluators take for 'unmatched'"),
])
def test_ground_truth_the_evaluator_would_misread_is_a_one_line_error(field, value, message,
                                                                      tmp_path, capsys):
  gt = tiny_gt()
  if value is None:
    del gt["annotations"][1][field]
  else:
    gt["annotations"][1][field] = value
  gt_path = write(tmp_path, "gt.json", gt)
  code = score_command.run(str(write(tmp_path, "r.json", noisy_rows(tiny_gt(), 0))),
                           str(gt_path), None)
  err = capsys.readouterr().err
  assert code == 2 and err.count("\n") == 1 and f"{gt_path}: {message}" in err, err
  with pytest.raises(ValueError, match=message):  # also when the caller passes the dict
    coco_eval.evaluate(gt, noisy_rows(tiny_gt(), 0))


def test_msposejax_score_command_line_on_coco_files(tmp_path):
  """The console command: a COCO ground truth is told by its content (no .json needed)."""
  gt = tiny_gt()
  rows = noisy_rows(gt, seed=4)
  rows[0]["keypoints"] = rows[0]["keypoints"][:-3]
  gt_path = write(tmp_path, "annotations.txt", gt)
  proc = subprocess.run([sys.executable, "-m", "msposejax.main", "score", "--predictions",
                         str(write(tmp_path, "r.json", rows)), "--ground-truth", str(gt_path)],
                        capture_output=True, text=True, timeout=120)
  assert proc.returncode == 2 and proc.stdout == ""
  assert proc.stderr.strip().splitlines() == [
      f"msposejax: error: {tmp_path / 'r.json'}: result 0 has 48 keypoint values where the "
      "ground truth's 17 joints need 51 (x, y, score per joint)"]
