"""OKS AP of COCO-format keypoint results from faster-coco-eval (IO).

faster-coco-eval, not pycocotools: the same 10 numbers (within 1e-17 on the files we
measured), half the CPU time, and CrowdPose's evaluation built in (docs/benchmarks.md "COCO
keypoint evaluators"). Its printing is captured, never shown.

A ground truth is a COCO-format annotation file (a dict with "images" and "annotations" and a
category that names its "keypoints"): COCO's own, or any set in its format. The skeleton's
`sigmas` (its `kpt_oks_sigmas`) and K come from `msposejax.skeleton`, found by K when not
given. CrowdPose differs from COCO in more than its 14 joints and sigmas, and where the
ground truth is CrowdPose's (every image has a "crowdIndex") its own protocol is run
(faster-coco-eval's "keypoints_crowd", as crowdpose-api and mmpose): no medium/large split, AP
on easy / medium / hard images by crowd index (< 0.2, < 0.8, the rest), and, with no "area"
in its annotations, the OKS scale 0.53 × the box's w × h.

Shape legend: K joints; a results row's "keypoints" holds K × (x, y, score).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import numbers
import pathlib
from typing import Any, Sequence

from msposejax import skeleton

# COCOeval's `stats`, in its order (fractions).
STAT_KEYS = ("oks_ap", "oks_ap50", "oks_ap75", "oks_apm", "oks_apl",
             "oks_ar", "oks_ar50", "oks_ar75", "oks_arm", "oks_arl")
STAT_NAMES = ("AP", "AP .5", "AP .75", "AP (M)", "AP (L)", "AR", "AR .5", "AR .75", "AR (M)",
              "AR (L)")
# faster-coco-eval's "keypoints_crowd" stats, in its order.
CROWD_STAT_KEYS = ("oks_ap", "oks_ap50", "oks_ap75", "oks_ar", "oks_ar50", "oks_ar75",
                   "oks_ap_easy", "oks_ap_medium", "oks_ap_hard")
CROWD_STAT_NAMES = ("AP", "AP .5", "AP .75", "AR", "AR .5", "AR .75", "AP (E)", "AP (M)",
                    "AP (H)")
RESULT_FIELDS = ("image_id", "category_id", "keypoints", "score")


def _load_json(path: str | pathlib.Path) -> Any:
  path = pathlib.Path(path)
  if not path.is_file():
    raise FileNotFoundError(f"{path}: no such file")
  try:
    return json.loads(path.read_text())
  except (UnicodeDecodeError, json.JSONDecodeError) as e:
    raise ValueError(f"{path}: not a JSON file ({e})") from e


def is_coco_ground_truth(data: Any) -> bool:
  """Whether parsed JSON is a COCO-format annotation file (a dict with images, annotations)."""
  return isinstance(data, dict) and "annotations" in data and "images" in data


def read_ground_truth(path: str | pathlib.Path) -> dict[str, Any]:
  """A COCO-format keypoint annotation file, checked (`num_joints` finds its K)."""
  data = _load_json(path)
  if not is_coco_ground_truth(data):
    raise ValueError(f"{path}: not a COCO-format annotation file (needs \"images\" and "
                     f"\"annotations\")")
  check_ground_truth(data, str(path))
  num_joints(data, source=str(path))
  return data


def num_joints(gt: dict[str, Any], source: str = "the ground truth") -> int:
  """K of a COCO-format ground truth: its categories' "keypoints" names (or its annotations')."""
  names = {len(c["keypoints"]) for c in gt.get("categories", []) if c.get("keypoints")}
  lengths = {len(a["keypoints"]) for a in gt["annotations"] if "keypoints" in a}
  if len(names) > 1 or len(lengths) > 1 or any(n % 3 for n in lengths):
    raise ValueError(f"{source}: its categories or annotations disagree on the number of "
                     f"keypoints ({sorted(names)} names, {sorted(lengths)} values)")
  if not names and not lengths:
    raise ValueError(f"{source}: has no keypoints (neither a category's \"keypoints\" names "
                     f"nor an annotation's \"keypoints\")")
  k = names.pop() if names else lengths.pop() // 3
  if lengths and lengths.pop() != 3 * k:
    raise ValueError(f"{source}: its category names {k} keypoints but its annotations do not "
                     f"hold {3 * k} values")
  return k


def skeleton_for(k: int, source: str = "the ground truth") -> skeleton.Skeleton:
  """The one skeleton with OKS sigmas for K joints (COCO: 17, CrowdPose: 14)."""
  found = [s for s in skeleton.SKELETONS.values() if s.sigmas and s.num_joints == k]
  if len(found) != 1:
    known = {s.name: s.num_joints for s in skeleton.SKELETONS.values() if s.sigmas}
    raise ValueError(f"{source}: no skeleton with OKS sigmas has {k} joints (known: {known})")
  return found[0]


def check_ground_truth(gt: dict[str, Any], source: str = "the ground truth") -> None:
  """One-line ValueErrors for annotations the evaluator would crash on or silently misread."""
  if not all(isinstance(im, dict) and "id" in im for im in gt["images"]):
    raise ValueError(f"{source}: an image has no \"id\"")
  if not all(isinstance(c, dict) and isinstance(c.get("id"), int)
             for c in gt.get("categories", [])):
    raise ValueError(f"{source}: a category has no integer \"id\"")
  for i, a in enumerate(gt["annotations"]):
    # The evaluator reads every annotation's bbox (its area falls back to it).
    missing = [f for f in ("id", "image_id", "category_id", "keypoints", "num_keypoints",
                           "bbox") if f not in a]
    if missing:
      # Without num_keypoints COCOeval ignores the person: AP without a word.
      raise ValueError(f"{source}: annotation {i} has no {', '.join(missing)}")
    if a["id"] == 0:
      raise ValueError(f"{source}: annotation {i} has id 0, which COCO's evaluators take for "
                       f"'unmatched' (skewing AP without a word): number annotations from 1")


def sigmas_for(skel: skeleton.Skeleton | Sequence[float] | str | None, k: int,
               source: str = "the ground truth") -> tuple[float, ...]:
  """The OKS sigmas (K,) of a skeleton, a skeleton's name, the sigmas themselves, or (None)
  of the one skeleton with sigmas for K joints."""
  if skel is None:
    skel = skeleton_for(k, source)
  if isinstance(skel, str):
    skel = skeleton.get(skel)
  sigmas = getattr(skel, "sigmas", skel)
  if sigmas is None:
    raise ValueError(f"skeleton {skel.name!r} has no OKS sigmas: it is not scored by OKS AP")
  sigmas = tuple(float(s) for s in sigmas)
  if len(sigmas) != k:
    raise ValueError(f"{source} has {k} joints but the skeleton's sigmas {len(sigmas)}")
  return sigmas


def read_results(path: str | pathlib.Path) -> list[dict[str, Any]]:
  """A COCO results file: a JSON list of rows (checked against the ground truth later)."""
  rows = _load_json(path)
  if not isinstance(rows, list):
    raise ValueError(f"{path}: not a COCO results file (a JSON list of "
                     f"{{{', '.join(RESULT_FIELDS)}}} rows)")
  return rows


def _finite(v: Any) -> bool:
  return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def check_results(rows: Any, gt: dict[str, Any], k: int, source: str = "the results") -> None:
  """One-line ValueErrors for results the evaluator would fail on or silently misread.

  Args:
    rows: the parsed results.
    gt: the ground truth they are scored against.
    k: its number of joints.
    source: names the results in the errors.
  """
  if not isinstance(rows, list):
    raise ValueError(f"{source}: not a list of results rows")
  if not rows:
    raise ValueError(f"{source}: has no results (an empty list scores nothing)")
  image_ids = {im["id"] for im in gt["images"]}
  category_ids = {c["id"] for c in gt.get("categories", [])}
  unknown = []
  for i, row in enumerate(rows):
    if not isinstance(row, dict):
      raise ValueError(f"{source}: result {i} is not a {{{', '.join(RESULT_FIELDS)}}} object")
    missing = [f for f in RESULT_FIELDS if f not in row]
    if missing:
      raise ValueError(f"{source}: result {i} has no {', '.join(repr(m) for m in missing)} "
                       f"(COCO results need {', '.join(RESULT_FIELDS)})")
    kps = row["keypoints"]
    if not isinstance(kps, list) or len(kps) != 3 * k:
      n = len(kps) if isinstance(kps, list) else type(kps).__name__
      raise ValueError(f"{source}: result {i} has {n} keypoint values where the ground "
                       f"truth's {k} joints need {3 * k} (x, y, score per joint)")
    if not all(_finite(v) for v in kps):
      bad = next(j for j, v in enumerate(kps) if not _finite(v))
      raise ValueError(f"{source}: result {i} keypoint value {bad} (joint {bad // 3}) is "
                       f"{kps[bad]!r}, not a finite number")
    if not _finite(row["score"]):
      raise ValueError(f"{source}: result {i} score is {row['score']!r}, not a finite number")
    if not isinstance(row["category_id"], int) or isinstance(row["category_id"], bool) \
        or (category_ids and row["category_id"] not in category_ids):
      raise ValueError(f"{source}: result {i} category_id {row['category_id']!r} is not a "
                       f"category of the ground truth ({sorted(category_ids)})")
    if not isinstance(row["image_id"], (int, str)) or row["image_id"] not in image_ids:
      unknown.append(row["image_id"])
  if unknown:
    raise ValueError(f"{source}: {len(unknown)} results have image ids not in the ground "
                     f"truth (first: {unknown[0]!r}); is it the right annotation file?")


def is_crowdpose(gt: dict[str, Any]) -> bool:
  """CrowdPose's protocol applies: every image carries its "crowdIndex"."""
  return bool(gt["images"]) and all("crowdIndex" in im for im in gt["images"])


def evaluate(ground_truth: str | pathlib.Path | dict[str, Any],
             results: str | pathlib.Path | list[dict[str, Any]],
             skel: skeleton.Skeleton | Sequence[float] | str | None = None
             ) -> dict[str, float]:
  """OKS AP and AR of results against a COCO-format ground truth.

  Args:
    ground_truth: an annotation file's path, or its parsed dict (not modified).
    results: a results file's path, or its rows ({"image_id", "category_id", "keypoints":
      K*3 floats, "score"}; not modified).
    skel: the skeleton (its `sigmas`), its name, the sigmas (K,), or None: the one skeleton
      with sigmas for the ground truth's K.

  Returns:
    COCO: `STAT_KEYS` → COCOeval's stats (fractions; -1 where a range has no people).
    CrowdPose ground truth (`is_crowdpose`): `CROWD_STAT_KEYS` → its stats.

  Raises:
    ValueError, FileNotFoundError: one line naming the file and the problem.
  """
  gt_name = "the ground truth" if isinstance(ground_truth, dict) else str(ground_truth)
  res_name = "the results" if isinstance(results, list) else str(results)
  gt = ground_truth if isinstance(ground_truth, dict) else read_ground_truth(ground_truth)
  rows = results if isinstance(results, list) else read_results(results)
  if not is_coco_ground_truth(gt):
    raise ValueError(f"{gt_name}: not a COCO-format annotation file")
  check_ground_truth(gt, gt_name)
  k = num_joints(gt, gt_name)
  sigmas = sigmas_for(skel, k, gt_name)
  check_results(rows, gt, k, res_name)
  crowd = is_crowdpose(gt)
  # The evaluator writes "ignore", "area", "bbox", "id" into the dicts it is given.
  gt = dict(gt, annotations=[dict(a) for a in gt["annotations"]])
  rows = [dict(r) for r in rows]
  from faster_coco_eval import COCO, COCOeval_faster  # pylint: disable=g-import-not-at-top

  chatter = io.StringIO()
  with contextlib.redirect_stdout(chatter):
    coco_gt = COCO(gt)
    coco_dt = coco_gt.loadRes(rows)
    ev = COCOeval_faster(coco_gt, coco_dt, "keypoints_crowd" if crowd else "keypoints",
                         print_function=print, kpt_oks_sigmas=list(sigmas),
                         use_area=all("area" in a for a in gt["annotations"]))
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
  keys = CROWD_STAT_KEYS if crowd else STAT_KEYS
  return {key: float(v) for key, v in zip(keys, ev.stats, strict=False)}


def format_table(stats: dict[str, float]) -> str:
  """The standard table (HRNet's and mmpose's names), in percent: names, then values."""
  crowd = "oks_ap_easy" in stats
  names, keys = (CROWD_STAT_NAMES, CROWD_STAT_KEYS) if crowd else (STAT_NAMES, STAT_KEYS)
  width = [max(len(n), 6) for n in names]
  head = " | ".join(n.rjust(w) for n, w in zip(names, width))
  values = " | ".join(f"{100 * stats[key]:.2f}".rjust(w) for key, w in zip(keys, width))
  return f"| {head} |\n| {values} |"
