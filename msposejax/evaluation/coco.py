"""Top-down COCO post-processing as HRNet and mmpose do it (pure, NumPy): rescoring, OKS
between instances, OKS-NMS per image, and rows in COCO's results format.

References, matched line by line: HRNet's `lib/dataset/coco.py: COCODataset.evaluate` and
`lib/nms/nms.py: oks_iou, oks_nms`; mmpose's `evaluation/metrics/coco_metric.py:
CocoMetric.compute_metrics` (score_mode "bbox_keypoint", keypoint_score_thr 0.2, nms_mode
"oks_nms", nms_thr 0.9) and `evaluation/functional/nms.py`. Both:
- score = box score × the mean of the keypoint scores > 0.2 (strictly); a person with none
  above gets 0 (the mean of nothing is taken as 0, not as 1).
- OKS-NMS per image, greedy by descending score: a person is dropped when its OKS with one
  already kept is > 0.9 (an OKS of exactly 0.9 stays). The OKS counts every joint (their
  `vis_thr`/`in_vis_thre` is None in this call), with the area of each instance being the
  area of its *padded* crop box: HRNet `np.prod(scale * 200)`, mmpose `np.prod(bbox_scales)`,
  i.e. the box widened to the input's aspect ratio and multiplied by 1.25 — not the detector's
  box. The two areas are averaged: e = d² / (2σ)² / ((a_i + a_j) / 2 + eps) / 2.

Shape legend: N people (detections), K joints, 2 = (x, y) in image pixels.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

KEYPOINT_SCORE_THRESHOLD = 0.2   # HRNet TEST.IN_VIS_THRE, mmpose keypoint_score_thr
NMS_THRESHOLD = 0.9              # HRNet TEST.OKS_THRE, mmpose nms_thr
PERSON_CATEGORY_ID = 1


def rescore(box_scores: np.ndarray, keypoint_scores: np.ndarray,
            threshold: float = KEYPOINT_SCORE_THRESHOLD) -> np.ndarray:
  """Box score × the mean of the keypoint scores above `threshold` (0 when none is).

  Args:
    box_scores: (N,) the detector's (1 for ground-truth boxes).
    keypoint_scores: (N, K) the heatmap maxima.
    threshold: a keypoint counts when its score is strictly above it.

  Returns:
    (N,) float64.
  """
  box_scores = np.asarray(box_scores, np.float64)
  kps = np.asarray(keypoint_scores, np.float64)
  if kps.ndim != 2 or box_scores.shape != kps.shape[:1]:
    raise ValueError(f"box_scores (N,) and keypoint_scores (N, K) disagree: "
                     f"{box_scores.shape} vs {kps.shape}")
  above = kps > threshold
  count = above.sum(axis=1)
  mean = np.where(above, kps, 0).sum(axis=1) / np.maximum(count, 1)
  return box_scores * mean


def oks(keypoints_a: np.ndarray, keypoints_b: np.ndarray, areas_a: np.ndarray | float,
        areas_b: np.ndarray | float, sigmas: Sequence[float]) -> np.ndarray:
  """OKS between instances, the NMS's similarity (every joint counts), broadcast.

  Args:
    keypoints_a: (..., K, 2).
    keypoints_b: (..., K, 2), broadcast against keypoints_a (e.g. (N, 1, K, 2) and
      (1, N, K, 2) for the (N, N) matrix).
    areas_a: (...) the instances' areas (their padded crop boxes', see the module doc).
    areas_b: (...).
    sigmas: (K,) the skeleton's per-joint OKS constants (COCO: 0.026 for the nose ...).

  Returns:
    (...) the mean over joints of exp(−d² / (2σ)² / ((area_a + area_b) / 2 + eps) / 2).
  """
  a = np.asarray(keypoints_a, np.float64)
  b = np.asarray(keypoints_b, np.float64)
  variances = (2 * np.asarray(sigmas, np.float64)) ** 2
  if variances.shape != a.shape[-2:-1] or a.shape[-2:] != b.shape[-2:]:
    raise ValueError(f"{len(variances)} sigmas for keypoints {a.shape} and {b.shape}")
  diff = a - b
  d2 = diff[..., 0] ** 2 + diff[..., 1] ** 2                                   # (..., K)
  scale = (np.asarray(areas_a, np.float64) + np.asarray(areas_b, np.float64)) / 2
  e = d2 / variances / (scale + np.spacing(1))[..., None] / 2
  return np.exp(-e).mean(axis=-1)


# Above this many people in one image the NMS computes OKS row by row (for the kept ones)
# instead of as one (N, N, K) array.
_MATRIX_MAX = 512


def oks_nms(keypoints: np.ndarray, scores: np.ndarray, areas: np.ndarray,
            sigmas: Sequence[float], threshold: float = NMS_THRESHOLD) -> np.ndarray:
  """Greedy OKS-NMS over the people of one image.

  Args:
    keypoints: (N, K, 2).
    scores: (N,) the rescored scores.
    areas: (N,) each person's padded crop-box area.
    sigmas: (K,).
    threshold: a person whose OKS with a kept one is above it is dropped.

  Returns:
    (M,) int indices of the kept people, best score first. Equal scores: the later person
    first, as HRNet's and mmpose's `scores.argsort()[::-1]` does (stable here for any N).
  """
  keypoints = np.asarray(keypoints, np.float64)
  scores = np.asarray(scores, np.float64)
  areas = np.asarray(areas, np.float64)
  if keypoints.ndim != 3 or scores.shape != keypoints.shape[:1] or areas.shape != scores.shape:
    raise ValueError(f"keypoints (N, K, 2), scores (N,), areas (N,) disagree: "
                     f"{keypoints.shape}, {scores.shape}, {areas.shape}")
  n = len(scores)
  if n <= _MATRIX_MAX:  # one OKS matrix: 100k people in 5,000 images 0.7 CPU s, not 2.8
    matrix = oks(keypoints[:, None], keypoints[None], areas[:, None], areas[None], sigmas)
    row = matrix.__getitem__
  else:
    row = lambda i: oks(keypoints[i], keypoints, areas[i], areas, sigmas)  # noqa: E731
  # Dropping everyone above the threshold with each kept person, best first, is HRNet's loop
  # (OKS is symmetric, so the row of a kept person holds its OKS with the rest).
  dropped = np.zeros(n, bool)
  keep = []
  for i in np.argsort(scores, kind="stable")[::-1]:
    if dropped[i]:
      continue
    keep.append(i)
    dropped |= row(i) > threshold
  return np.asarray(keep, np.int64)


def rescore_and_nms(image_ids: Sequence[int], keypoints: np.ndarray,
                    keypoint_scores: np.ndarray, box_scores: np.ndarray, areas: np.ndarray,
                    sigmas: Sequence[float],
                    keypoint_threshold: float = KEYPOINT_SCORE_THRESHOLD,
                    nms_threshold: float | None = NMS_THRESHOLD
                    ) -> tuple[np.ndarray, np.ndarray]:
  """HRNet's evaluation post-processing: rescore everyone, then OKS-NMS image by image.

  Args:
    image_ids: (N,) the image of each person.
    keypoints: (N, K, 2) in image pixels.
    keypoint_scores: (N, K).
    box_scores: (N,).
    areas: (N,) padded crop-box areas (w × h of the box at the input's aspect ratio × 1.25).
    sigmas: (K,).
    keypoint_threshold: rescoring's keypoint-score cut.
    nms_threshold: the OKS above which a person is dropped; None: no NMS.

  Returns:
    keep: (M,) indices of the people kept, images in order of first appearance, each
      image's best score first (the order HRNet writes them in).
    scores: (N,) the rescored scores of everyone.
  """
  image_ids = np.asarray(image_ids)
  keypoints = np.asarray(keypoints, np.float64)
  scores = rescore(box_scores, keypoint_scores, keypoint_threshold)
  if image_ids.shape != scores.shape or keypoints.shape[:1] != scores.shape:
    raise ValueError(f"image_ids (N,), keypoints (N, K, 2) and box_scores (N,) disagree: "
                     f"{image_ids.shape}, {keypoints.shape}, {scores.shape}")
  areas = np.asarray(areas, np.float64).reshape(scores.shape)
  _, first, inverse = np.unique(image_ids, return_index=True, return_inverse=True)
  # Each image's people in input order, without an O(N × images) scan (val2017: 100k boxes).
  by_image = np.split(np.argsort(inverse, kind="stable"), np.cumsum(np.bincount(inverse))[:-1])
  keep = []
  for members in (by_image[u] for u in np.argsort(first)):
    if nms_threshold is None:
      keep.append(members)
      continue
    kept = oks_nms(keypoints[members], scores[members], areas[members], sigmas, nms_threshold)
    keep.append(members[kept])
  return (np.concatenate(keep) if keep else np.zeros(0, np.int64)), scores


def to_rows(image_ids: Sequence[int], keypoints: np.ndarray, keypoint_scores: np.ndarray,
            scores: np.ndarray, category_id: int = PERSON_CATEGORY_ID) -> list[dict[str, Any]]:
  """Rows of COCO's keypoint results format, one per person.

  Args:
    image_ids: (N,).
    keypoints: (N, K, 2) image pixels (0-based, COCO's frame).
    keypoint_scores: (N, K) written as each keypoint's third value (evaluators ignore it).
    scores: (N,) the instance scores AP ranks by.
    category_id: COCO's person is 1.

  Returns:
    [{"image_id", "category_id", "keypoints": K*3 floats (x, y, score), "score"}].
  """
  keypoints = np.asarray(keypoints, np.float64)
  kps = np.concatenate([keypoints, np.asarray(keypoint_scores, np.float64)[..., None]], -1)
  return [{"image_id": int(i), "category_id": int(category_id),
           "keypoints": [float(v) for v in k.ravel()], "score": float(s)}
          for i, k, s in zip(image_ids, kps, np.asarray(scores, np.float64), strict=True)]


def results_rows(image_ids: Sequence[int], keypoints: np.ndarray, keypoint_scores: np.ndarray,
                 box_scores: np.ndarray, areas: np.ndarray, sigmas: Sequence[float],
                 keypoint_threshold: float = KEYPOINT_SCORE_THRESHOLD,
                 nms_threshold: float | None = NMS_THRESHOLD,
                 category_id: int = PERSON_CATEGORY_ID) -> list[dict[str, Any]]:
  """Top-down predictions → the rows an evaluator scores: rescored, OKS-NMS'd, formatted.

  Args: as `rescore_and_nms` (shapes (N,), (N, K, 2), (N, K), (N,), (N,), (K,)), and the
    category of `to_rows`.

  Returns:
    The kept people's rows (`to_rows`), in HRNet's order.
  """
  keep, scores = rescore_and_nms(image_ids, keypoints, keypoint_scores, box_scores, areas,
                                 sigmas, keypoint_threshold, nms_threshold)
  return to_rows(np.asarray(image_ids)[keep], np.asarray(keypoints)[keep],
                 np.asarray(keypoint_scores)[keep], scores[keep], category_id)

