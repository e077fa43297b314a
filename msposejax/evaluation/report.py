"""The evaluation report of a split's predictions: the skeleton's metric at its thresholds,
overall and per hard-case subset (pure)."""

from __future__ import annotations

from typing import Any

import numpy as np

from msposejax import skeleton
from msposejax.evaluation.pckh import pckh

SUBSETS = ("occluded", "crowded", "scale_small")  # per-person tags of the dataset


def pckh_report(results: dict[str, np.ndarray], skel: skeleton.Skeleton = skeleton.MPII
                ) -> dict[str, Any]:
  """The skeleton's metric (PCKh or PCK) at its thresholds over valid examples, per hard-case
  subset of people, and over the labelled-but-occluded joints where the data marks them.

  Keys: "pckh@0.5" (MPII) or "pck@0.2" (LSP) and the other thresholds; "SUBSET/KEY" for
  occluded, crowded, scale_small people; "occluded_joints/KEY" (only those joints count).
  People without a normaliser (LSP: a torso joint unlabelled) are left out and counted.
  """
  valid = results["valid"].astype(bool)
  has_norm = np.isfinite(results["normaliser"]) & (results["normaliser"] > 0)
  report: dict[str, Any] = {"num_people": int((valid & has_norm).sum()),
                            "num_without_normaliser": int((valid & ~has_norm).sum()),
                            "metric": skel.metric, "skeleton": skel.name}
  valid = valid & has_norm
  visible = results["visible"].astype(bool)
  occluded_joints = visible & results["joint_occluded"].astype(bool)
  subsets = [(None, valid, visible)]
  subsets += [(s, valid & results[s].astype(bool), visible) for s in SUBSETS]
  subsets += [("occluded_joints", valid, occluded_joints)]
  for subset, sel, joints_sel in subsets:
    if not (sel[:, None] & joints_sel).any():
      continue
    for t in skel.thresholds:
      res = pckh(results["pred"][sel], results["joints"][sel], joints_sel[sel],
                 results["normaliser"][sel], t, skel)
      key = skeleton.metric_key(skel, t)
      report[key if subset is None else f"{subset}/{key}"] = res
  return report
