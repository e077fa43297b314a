"""The official MPII PCKh protocol, as pure NumPy (no IO; `mpii_files.py` reads the files).

This is the computation of the MATLAB `evaluatePCKh.m` as the community ports it (e.g.
bearpaw/pytorch-pose `evaluation/eval_PCKh.py`), which differs from `pckh.pckh` in three
small ways that matter when a number is compared with a paper:

- a joint counts when it is labelled in the official file (`jnt_missing == 0`), even where
  its ground truth has a 0 coordinate (13 such joints in the standard validation split);
- "correct" is a strict `error < t·h` (`pckh.pckh` counts `≤`);
- a part is the plain average of its left and right joints' PCKh; the Mean stays
  count-weighted over all joints but pelvis and thorax.

Shape legend: N people, K = 16 joints (MPII order, `JOINT_NAMES`), 2 = (x, y).
Ground truth and predictions must share one index base (the scorer works in MATLAB's 1-based
frame); results are fractions in [0, 1], tables print percent.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from msposejax import skeleton
from msposejax.evaluation.pckh import format_table as pck_table, head_size_from_box

JOINT_NAMES: tuple[str, ...] = skeleton.MPII.joint_names
K = skeleton.MPII.num_joints
PARTS: dict[str, tuple[int, ...]] = dict(skeleton.MPII.parts)
MEAN_EXCLUDED: tuple[int, ...] = skeleton.MPII.mean_excluded
FLIP_PERMUTATION: tuple[int, ...] = skeleton.MPII.flip_permutation()

THRESHOLDS = (0.5, 0.2)  # the rows of the printed table
MEAN_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5)  # the Mean at each, printed under the table
ORDER_MARGIN = 0.20  # another joint order 20 points better than the file's means a wrong order

# A 16-joint file in LSP order (the 14 LSP joints, then pelvis and thorax): perm[j] is the
# file's column holding MPII joint j.
LSP_ORDER_PERMUTATION: tuple[int, ...] = (0, 1, 2, 3, 4, 5, 14, 15, 12, 13, 6, 7, 8, 9, 10, 11)

# Orders a wrong file is likely to be in: name → function putting such a file in MPII order.
OTHER_ORDERS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "left-right swapped": lambda p: p[:, list(FLIP_PERMUTATION)],
    "in LSP joint order (14 LSP joints, then pelvis, thorax)":
        lambda p: p[:, list(LSP_ORDER_PERMUTATION)],
    "(y, x) instead of (x, y)": lambda p: p[..., ::-1],
}


def head_sizes(headboxes: np.ndarray) -> np.ndarray:
  """Official normaliser h = 0.6 · ‖corner₂ − corner₁‖ (`pckh.head_size_from_box`).

  Args:
    headboxes: (N, 2, 2) head boxes, [person, corner, (x, y)].

  Returns:
    (N,) head sizes in pixels.
  """
  headboxes = np.asarray(headboxes, np.float64)
  if headboxes.ndim != 3 or headboxes.shape[1:] != (2, 2):
    raise ValueError(f"head boxes must be (N, 2, 2), got {headboxes.shape}")
  return head_size_from_box(headboxes.reshape(-1, 4))  # [x1, y1, x2, y2] per person


def _check(pred: np.ndarray, gt: np.ndarray, missing: np.ndarray, head_size: np.ndarray
           ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
  pred, gt = np.asarray(pred, np.float64), np.asarray(gt, np.float64)
  missing, head_size = np.asarray(missing, bool), np.asarray(head_size, np.float64)
  n, k = (gt.shape[0] if gt.ndim else 0), K
  if gt.shape != (n, k, 2) or pred.shape != gt.shape:
    raise ValueError(f"pred {pred.shape} and gt {gt.shape} must both be (N, {k}, 2)")
  if missing.shape != (n, k) or head_size.shape != (n,):
    raise ValueError(f"missing must be (N, K) = {(n, k)} and head_size (N,) = ({n},), got "
                     f"{missing.shape} and {head_size.shape}")
  labelled = ~missing
  if np.any(labelled.any(axis=1) & ~(np.isfinite(head_size) & (head_size > 0))):
    raise ValueError("head sizes must be finite and positive for every person with a labelled "
                     "joint")
  return pred, gt, labelled, head_size


def scaled_errors(pred: np.ndarray, gt: np.ndarray, missing: np.ndarray,
                  head_size: np.ndarray) -> np.ndarray:
  """(N, K) error / h; +inf for a non-finite prediction (a miss, as in MATLAB) and NaN where
  the joint is missing (it never counts)."""
  pred, gt, labelled, head_size = _check(pred, gt, missing, head_size)
  with np.errstate(invalid="ignore", divide="ignore"):
    err = np.linalg.norm(pred - gt, axis=2) / head_size[:, None]
  err = np.where(np.isfinite(err), err, np.inf)
  return np.where(labelled, err, np.nan)


def nonfinite_joints(pred: np.ndarray, missing: np.ndarray) -> dict[str, int]:
  """How many predicted joints have a NaN or infinite coordinate: they score as misses
  (`scaled_errors`), and a file full of them should say so rather than just score low.

  Args:
    pred: (N, K, 2) predictions.
    missing: (N, K) bool, the official `jnt_missing`.

  Returns:
    {"joints": non-finite predicted joints, "labelled": those of them on labelled joints
     (the ones that count, as misses)}.
  """
  bad = ~np.isfinite(np.asarray(pred, np.float64)).all(axis=-1)
  return {"joints": int(bad.sum()), "labelled": int((bad & ~np.asarray(missing, bool)).sum())}


def official_pckh(pred: np.ndarray, gt: np.ndarray, missing: np.ndarray,
                  head_size: np.ndarray, threshold: float = 0.5) -> dict[str, Any]:
  """PCKh@threshold under the official protocol.

  Args:
    pred: (N, K, 2) predictions, same index base as gt.
    gt: (N, K, 2) ground truth.
    missing: (N, K) bool, the official `jnt_missing` (True: the joint does not count).
    head_size: (N,) h, already 0.6 × head-box diagonal.
    threshold: t in "error < t·h".

  Returns:
    {"threshold": t, "joint": {name: fraction, NaN if never labelled},
     "count": {name: labelled joints}, "part": {"Head", ..., "Ankle": L/R average},
     "mean": correct / labelled over all joints but pelvis and thorax, "num_people": N}.
  """
  err = scaled_errors(pred, gt, missing, head_size)
  labelled = ~np.isnan(err)
  count = labelled.sum(axis=0)
  hits = (labelled & (np.nan_to_num(err, nan=np.inf) < threshold)).sum(axis=0)
  per_joint = np.where(count > 0, hits / np.maximum(count, 1), np.nan)
  kept = [j for j in range(K) if j not in MEAN_EXCLUDED]
  total = count[kept].sum()
  return {
      "threshold": float(threshold),
      "joint": {name: float(per_joint[j]) for j, name in enumerate(JOINT_NAMES)},
      "count": {name: int(count[j]) for j, name in enumerate(JOINT_NAMES)},
      # The official table averages left and right (not count-weighted).
      "part": {part: float(np.mean(per_joint[list(joints)]))
               for part, joints in PARTS.items()},
      "mean": float(hits[kept].sum() / total) if total else float("nan"),
      "num_people": int(err.shape[0]),
  }


def check_joint_order(pred: np.ndarray, gt: np.ndarray, missing: np.ndarray,
                      head_size: np.ndarray, source: str = "predictions") -> dict[str, float]:
  """PCKh@0.5 Mean of the file as given and in each of `OTHER_ORDERS`.

  A file whose joints are left/right swapped still scores well above chance on the head
  and torso but far below its own swapped version, so a margin of ORDER_MARGIN (20 points)
  separates a wrong order from a weak model, whose swapped score is lower too.

  Returns:
    {"as given": mean, <order name>: mean, ...}.

  Raises:
    ValueError: naming `source`, when another order scores ORDER_MARGIN better.
  """
  means = {"as given": official_pckh(pred, gt, missing, head_size)["mean"]}
  for name, reorder in OTHER_ORDERS.items():
    means[name] = official_pckh(reorder(np.asarray(pred, np.float64)), gt, missing,
                                head_size)["mean"]
    if means[name] > means["as given"] + ORDER_MARGIN:
      raise ValueError(
          f"{source}: the joints look {name}: PCKh@0.5 Mean {100 * means['as given']:.1f} as "
          f"given, {100 * means[name]:.1f} reordered; expected (x, y) in the MPII joint order "
          f"({', '.join(JOINT_NAMES)})")
  return means


def mean_offset(pred: np.ndarray, gt: np.ndarray, missing: np.ndarray,
                head_size: np.ndarray) -> np.ndarray:
  """(2,) mean pred − gt in px over joints within 0.5·h: a diagnostic, not a check.

  An index-base slip would add (±1, ±1); a good model's own bias is about as large (the
  8-stack hourglass: (+0.66, −1.14), growing with person size), so it cannot be decided
  from the data and the base is fixed per file format instead (`mpii_files.py`).
  """
  err = scaled_errors(pred, gt, missing, head_size)
  close = np.nan_to_num(err, nan=np.inf) < 0.5
  if not close.any():
    return np.full(2, np.nan)
  return (np.asarray(pred, np.float64) - np.asarray(gt, np.float64))[close].mean(axis=0)


def format_table(results: list[dict[str, Any]], means: dict[float, float] | None = None) -> str:
  """The usual per-part table in percent, one row per result, then the Mean per threshold."""
  table = pck_table(results, "PCKh")
  if means:
    table += "\nMean   | " + "   ".join(f"@{t:g}: {100 * v:.2f}" for t, v in means.items())
  return table
