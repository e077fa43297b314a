"""What a training or an evaluation tells its reader: the console line, the headline number,
the metrics file's rows, the results table and the predictions picture (IO: stdout, PNG)."""

from __future__ import annotations

from typing import Any

import jax
import ml_collections
import numpy as np
from PIL import Image

from msposejax import skeleton
from msposejax.draw import draw_skeleton, grid
from msposejax.evaluation import coco_eval
from msposejax.evaluation.pckh import format_table
from msposejax.losses.total import loss_shares, scale_weights


def say(*args, **kwargs) -> None:
  """The console is for people, and only process 0 speaks (always flushed: logs are tailed)."""
  if jax.process_index() == 0:
    kwargs.setdefault("flush", True)
    print(*args, **kwargs)


def loss_share_line(terms: dict[str, Any], config: ml_collections.ConfigDict, step: int) -> str:
  """Each scale's part of the first step's loss: a user sees which head drives training."""
  shares = loss_shares({k: v for k, v in terms.items() if k.startswith("loss/")},
                       scale_weights(config))
  how = "balanced λ_r" if config.loss.balance_scales else "raw λ_r"
  return (f"loss at step {step} by scale ({how}, all stacks): "
          + " · ".join(f"{k} {100 * v:.0f}%" for k, v in shares.items()))


def headline_value(report: dict[str, Any], skel: skeleton.Skeleton) -> float:
  """The report's headline number (PCKh@0.5, PCK@0.2's mean, or OKS AP)."""
  value = report[skel.headline]
  return float(value["mean"] if isinstance(value, dict) else value)


def summary(report: dict[str, Any]) -> dict[str, float]:
  """The report as metric rows: "eval/pckh@0.5/mean", "eval/pckh@0.5/head", "eval/oks_ap"…"""
  # OKS AP and AR (COCO's 10; CrowdPose's easy / medium / hard APs too).
  out = {f"eval/{key}": float(v) for key, v in report.items()
         if key.startswith("oks_") and isinstance(v, float)}
  for key, res in report.items():
    if isinstance(res, dict) and "mean" in res:
      out[f"eval/{key}/mean"] = res["mean"]
      if "/" not in key:
        out.update({f"eval/{key}/{p}": v for p, v in res["part"].items()})
  return out


def table(report: dict[str, Any], skel: skeleton.Skeleton) -> str:
  """The report as the console's results table."""
  if skel.metric == skeleton.OKS_AP:
    return (coco_eval.format_table(report) + f"\n({report['num_results']} people after "
            f"OKS-NMS from {report['num_boxes']} {report['boxes']} boxes in "
            f"{report['num_images']} images)")
  text = format_table([report[skeleton.metric_key(skel, t)] for t in skel.thresholds],
                      skel.metric)
  if report.get("num_without_normaliser"):
    text += (f"\n({report['num_without_normaliser']} people without a torso size left out of "
             f"{report['num_people'] + report['num_without_normaliser']})")
  return text


def save_predictions_png(report: dict[str, Any], path, skel: skeleton.Skeleton) -> None:
  """report["crops"] ([(image (H, W, 3), coords (K, 2), scores (K,))]) drawn in one grid."""
  tiles = [draw_skeleton(np.asarray(im), np.asarray(c), np.asarray(s), skel=skel)
           for im, c, s in report["crops"]]
  if tiles:
    with path.open("wb") as f:
      Image.fromarray(grid(tiles, columns=min(4, len(tiles)))).save(f, format="PNG")
