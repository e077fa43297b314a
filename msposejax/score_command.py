"""`msposejax score`: any codebase's MPII validation predictions under the official protocol.

    msposejax score --predictions P --ground-truth G [--json OUT]

G: the official `detections_our_format.mat` or the hourglass `valid.h5`; P: an `.h5` with
`preds` (N, 16, 2), a `.mat` with `pos_pred_src` (16, 2, N) or `preds`, or our JSON. Index
bases are fixed per format and joint orders checked (`evaluation/mpii_files.py`,
docs/data.md "Scoring MPII predictions").
"""

from __future__ import annotations

import json
import pathlib
import sys
from typing import Any

from msposejax.evaluation import mpii_files, mpii_protocol


def score(predictions: str, ground_truth: str) -> dict[str, Any]:
  """The report `run` prints: official PCKh at each threshold, the Mean at 0.1..0.5, the
  joint-order check and the mean offset (fractions; offsets in px).

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
  report["mean_offset_px"] = mpii_protocol.mean_offset(*args).tolist()
  return report


def run(predictions: str, ground_truth: str, json_out: str | None = None) -> int:
  """Prints the table (and writes the report to json_out); returns the exit code.

  0: scored; 2: a file could not be read or scored (the reason is printed to stderr in
  one line, as `msposejax: error: ...`).
  """
  try:
    report = score(predictions, ground_truth)
  except (ValueError, OSError, ImportError) as e:
    print(f"msposejax: error: {e}", file=sys.stderr)
    return 2
  results = [report[f"pckh@{t}"] for t in mpii_protocol.THRESHOLDS]
  means = {float(t): v for t, v in report["mean_by_threshold"].items()}
  dx, dy = report["mean_offset_px"]
  print(f"{report['predictions']} against {report['ground_truth']}: {report['num_people']} "
        f"people, {report['num_labelled_joints']} labelled joints (official protocol: "
        f"h = 0.6 x head-box diagonal, error < t*h, Mean without pelvis and thorax)")
  print(mpii_protocol.format_table(results, means))
  print(f"mean pred - gt offset of the joints within 0.5 h: ({dx:+.2f}, {dy:+.2f}) px "
        f"(an index-base slip would add about 1 px to both)")
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
