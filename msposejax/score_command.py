"""`msposejax score`: any codebase's predictions under a benchmark's official protocol.

    msposejax score --predictions P --ground-truth G [--json OUT]

MPII: G is the official `detections_our_format.mat` or the hourglass `valid.h5`; P an `.h5`
with `preds` (N, 16, 2), a `.mat` with `pos_pred_src` (16, 2, N) or `preds`, or our JSON.
Index bases are fixed per format and joint orders checked (`evaluation/mpii_files.py`,
docs/data.md "Scoring MPII predictions").

COCO (and COCO-format sets: CrowdPose, OCHuman, one's own): G is a COCO-format annotation JSON
(told by its content: a dict with "images" and "annotations"), P a COCO keypoint results JSON
from any codebase; OKS AP from faster-coco-eval (`evaluation/coco_eval.py`, docs/data.md
"Scoring COCO results").
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

import numpy as np

from msposejax.evaluation import coco_eval, mpii_files, mpii_protocol


def score(predictions: str, ground_truth: str) -> dict[str, Any]:
  """The report `run` prints: official PCKh at each threshold, the Mean at 0.1..0.5, the
  joint-order check, the mean offset (fractions; offsets in px; None when no joint is
  within 0.5 h) and the count of non-finite predicted joints (`nonfinite_joints`: misses).

  Raises:
    ValueError, FileNotFoundError, ImportError: a file that cannot be read or scored, in
      one line naming it.
  """
  gt = mpii_files.read_ground_truth(ground_truth)
  pred = mpii_files.read_predictions(predictions, gt)
  args = (pred, gt.joints, gt.missing, gt.head_size)
  order = mpii_protocol.check_joint_order(*args, source=predictions)
  report: dict[str, Any] = {
      "predictions": str(predictions), "ground_truth": str(ground_truth),
      "num_people": int(gt.joints.shape[0]),
      "num_labelled_joints": int((~gt.missing).sum()),
  }
  for t in mpii_protocol.THRESHOLDS:
    report[f"pckh@{t}"] = mpii_protocol.official_pckh(*args, threshold=t)
  report["mean_by_threshold"] = {
      str(t): mpii_protocol.official_pckh(*args, threshold=t)["mean"]
      for t in mpii_protocol.MEAN_THRESHOLDS}
  report["order_check"] = order
  offset = mpii_protocol.mean_offset(*args)
  # null, not NaN (which is not JSON), when no joint is within 0.5 h
  report["mean_offset_px"] = offset.tolist() if np.isfinite(offset).all() else None
  report["nonfinite_joints"] = mpii_protocol.nonfinite_joints(pred, gt.missing)
  return report


def coco_ground_truth(path: str) -> dict[str, Any] | None:
  """The parsed file when `path` holds a COCO-format annotation JSON (by content), else None.

  Only a file whose first non-blank byte is "{" is parsed: .mat and .h5 files never are.
  """
  p = pathlib.Path(path)
  if not p.is_file():
    return None
  with p.open("rb") as f:
    if f.read(64).lstrip()[:1] != b"{":
      return None
  try:
    data = json.loads(p.read_text())
  except (UnicodeDecodeError, json.JSONDecodeError):
    return None
  return data if coco_eval.is_coco_ground_truth(data) else None


def score_coco(predictions: str, ground_truth: str, gt: dict[str, Any] | None = None
               ) -> dict[str, Any]:
  """The report of a COCO results file: OKS AP and AR (`coco_eval.STAT_KEYS`, fractions; for
  CrowdPose ground truth `coco_eval.CROWD_STAT_KEYS`) and what was scored.

  Args:
    predictions: a COCO keypoint results JSON.
    ground_truth: its COCO-format annotation file.
    gt: that file already parsed (`coco_ground_truth`), not to read it twice.

  Raises:
    ValueError, FileNotFoundError, ImportError: in one line naming the file and the problem.
  """
  if gt is None:
    gt = coco_eval.read_ground_truth(ground_truth)
  else:
    coco_eval.check_ground_truth(gt, ground_truth)  # here, to name the file in its errors
  k = coco_eval.num_joints(gt, ground_truth)
  skel = coco_eval.skeleton_for(k, ground_truth)
  rows = coco_eval.read_results(predictions)
  coco_eval.check_results(rows, gt, k, predictions)  # here, to name the file in its errors
  stats = coco_eval.evaluate(gt, rows, skel)
  people = sum(1 for a in gt["annotations"]
               if not a.get("iscrowd", 0) and a.get("num_keypoints", 1) > 0)
  return {"predictions": str(predictions), "ground_truth": str(ground_truth),
          "protocol": "crowdpose" if coco_eval.is_crowdpose(gt) else "coco",
          "skeleton": skel.name, "num_joints": k, "num_images": len(gt["images"]),
          "num_people": people, "num_results": len(rows), **stats}


def _write_json(report: dict[str, Any], json_out: str | None) -> int:
  if json_out:
    try:
      path = pathlib.Path(json_out)
      path.parent.mkdir(parents=True, exist_ok=True)
      path.write_text(json.dumps(report, indent=1))
    except OSError as e:
      print(f"msposejax: error: cannot write {json_out}: {e}", file=sys.stderr)
      return 2
    print(f"wrote {json_out}")
  return 0


def run(predictions: str, ground_truth: str, json_out: str | None = None) -> int:
  """Prints the table (and writes the report to json_out); returns the exit code.

  0: scored; 2: a file could not be read or scored (the reason is printed to stderr in
  one line, as `msposejax: error: ...`).
  """
  try:
    gt = coco_ground_truth(ground_truth)
    if gt is not None:
      report = score_coco(predictions, ground_truth, gt)
    else:
      report = score(predictions, ground_truth)
  except (ValueError, OSError, ImportError) as e:
    print(f"msposejax: error: {e}", file=sys.stderr)
    return 2
  if gt is not None:
    print(f"{report['predictions']} against {report['ground_truth']}: "
          f"{report['num_results']} results, {report['num_people']} people with keypoints in "
          f"{report['num_images']} images ({report['skeleton']}, {report['num_joints']} joints; "
          f"OKS AP of faster-coco-eval, {report['protocol']} protocol, percent)")
    print(coco_eval.format_table(report))
    return _write_json(report, json_out)
  results = [report[f"pckh@{t}"] for t in mpii_protocol.THRESHOLDS]
  means = {float(t): v for t, v in report["mean_by_threshold"].items()}
  print(f"{report['predictions']} against {report['ground_truth']}: {report['num_people']} "
        f"people, {report['num_labelled_joints']} labelled joints (official protocol: "
        f"h = 0.6 x head-box diagonal, error < t*h, Mean without pelvis and thorax)")
  bad = report["nonfinite_joints"]
  if bad["joints"]:
    print(f"{bad['joints']} predicted joints are not finite (NaN or inf); the {bad['labelled']} "
          f"of them on labelled joints count as misses")
  print(mpii_protocol.format_table(results, means))
  if report["mean_offset_px"] is None:
    print("mean pred - gt offset: none (no joint is within 0.5 h)")
  else:
    dx, dy = report["mean_offset_px"]
    print(f"mean pred - gt offset of the joints within 0.5 h: ({dx:+.2f}, {dy:+.2f}) px "
          f"(an index-base slip would add about 1 px to both)")
  return _write_json(report, json_out)


def run_command(command: tuple[str, ...], config: None, args: Any) -> None:
  """`msposejax score` from the command line: `run`, then exit with its code."""
  del command, config  # one command, no config
  sys.exit(run(args.predictions, args.ground_truth, args.json))
