"""PCK metrics as pure NumPy: PCKh (MPII: head-size normaliser) and PCK (LSP: torso size).

The skeleton says which: its parts, the joints its Mean leaves out, its normaliser.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from msposejax import skeleton


def head_size_from_box(head_box: np.ndarray) -> np.ndarray:
  """h = 0.6 · ‖(x2 − x1, y2 − y1)‖ of (N, 4) head boxes (x1, y1, x2, y2) → (N,)."""
  head_box = np.asarray(head_box, np.float64)
  return 0.6 * np.linalg.norm(head_box[:, 2:4] - head_box[:, 0:2], axis=1)


def torso_size(joints: np.ndarray, visible: np.ndarray, skel: skeleton.Skeleton) -> np.ndarray:
  """‖joints[a] − joints[b]‖ for the skeleton's torso pair (a, b): (N, K, 2) → (N,).

  NaN where either joint is unlabelled: such a person has no normaliser and is left out.
  """
  if skel.torso is None:
    raise ValueError(f"the {skel.name} skeleton has no torso pair (its metric is {skel.metric})")
  a, b = skel.torso
  joints = np.asarray(joints, np.float64)
  visible = np.asarray(visible, bool)
  size = np.linalg.norm(joints[:, a] - joints[:, b], axis=-1)
  return np.where(visible[:, a] & visible[:, b], size, np.nan)


def pckh(pred: np.ndarray, gt: np.ndarray, visible: np.ndarray, head_size: np.ndarray,
         threshold: float = 0.5, skel: skeleton.Skeleton = skeleton.MPII) -> dict[str, Any]:
  """Fraction of labelled joints whose error is at most threshold · h.

  Args:
    pred: (N, K, 2) predicted joints, same coordinate base as gt.
    gt: (N, K, 2) ground-truth joints.
    visible: (N, K) bool, the joints that count (labelled).
    head_size: (N,) normaliser h: 0.6 × head-box diagonal (PCKh) or the torso size (PCK).
    threshold: t in "error ≤ t·h".
    skel: the joints' skeleton (parts, Mean, names).

  Returns:
    {"threshold": t,
     "joint": {name: fraction or nan when never labelled},
     "count": {name: number of labelled joints},
     "part": {"Head", "Shoulder", ..., "Ankle": count-weighted fraction},
     "mean": correct / labelled over the skeleton's Mean joints (MPII: not pelvis, thorax),
     "num_people": N}
  """
  pred = np.asarray(pred, np.float64)
  gt = np.asarray(gt, np.float64)
  visible = np.asarray(visible).astype(bool)
  head_size = np.asarray(head_size, np.float64)
  n = gt.shape[0]
  if gt.ndim != 3 or gt.shape[2] != 2 or pred.shape != gt.shape:
    raise ValueError(f"pred {pred.shape} and gt {gt.shape} must both be (N, K, 2)")
  if visible.shape != gt.shape[:2]:
    raise ValueError(f"visible must be (N, K) = {gt.shape[:2]}, got {visible.shape}")
  if head_size.shape != (n,):
    raise ValueError(f"head_size must be (N,) = ({n},), got {head_size.shape}")
  if np.any(~np.isfinite(head_size) | (head_size <= 0)):
    raise ValueError("head_size must be finite and positive for every person")
  k = gt.shape[1]
  if k != skel.num_joints:
    raise ValueError(f"{skel.metric} of the {skel.name} skeleton needs K={skel.num_joints} "
                     f"joints, got K={k}")
  if np.any(visible & ~np.isfinite(pred).all(axis=2)):
    raise ValueError("predictions contain non-finite coordinates for labelled joints")

  error = np.linalg.norm(pred - gt, axis=2) / head_size[:, None]
  correct = (error <= threshold) & visible
  count = visible.sum(axis=0)
  hits = correct.sum(axis=0)
  with np.errstate(invalid="ignore", divide="ignore"):
    per_joint = np.where(count > 0, hits / np.maximum(count, 1), np.nan)

  def ratio(joints) -> float:
    total = count[list(joints)].sum()
    return float(hits[list(joints)].sum() / total) if total else float("nan")

  return {
      "threshold": float(threshold),
      "joint": {name: float(per_joint[j]) for j, name in enumerate(skel.joint_names)},
      "count": {name: int(count[j]) for j, name in enumerate(skel.joint_names)},
      "part": {part: ratio(joints) for part, joints in skel.parts},
      "mean": ratio(skel.mean_joints),
      "num_people": int(n),
  }


def format_table(results: list[dict[str, Any]], metric: str = "PCKh") -> str:
  """The usual per-part table in percent, one row per threshold."""
  parts = list(results[0]["part"]) + ["Mean"]
  lines = [f"{metric:<6} | " + " | ".join(f"{p:>8}" for p in parts)]
  lines.append("-" * len(lines[0]))
  for res in results:
    values = [res["part"][p] for p in parts[:-1]] + [res["mean"]]
    lines.append(f"@{res['threshold']:<5} | " + " | ".join(f"{100 * v:8.2f}" for v in values))
  return "\n".join(lines)
