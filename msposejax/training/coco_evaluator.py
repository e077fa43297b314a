"""OKS AP of a model on a COCO-format split, during and after training (IO: reads photos).

Top-down as HRNet and mmpose evaluate: the split's photos, person boxes from its ground truth
or from `config.topdown.detections`, flip test, rescoring, OKS-NMS (`inference/topdown.py`),
then COCO's evaluator against the split's annotation file (`evaluation/coco_eval.py`).
"""

from __future__ import annotations

import json
import pathlib
from typing import Any

import jax
import ml_collections
import numpy as np
from jax.experimental import multihost_utils

from msposejax import skeleton
from msposejax.data import coco as coco_data
from msposejax.data import pipeline
from msposejax.data.features import decode_image
from msposejax.evaluation import coco_eval
from msposejax.inference import topdown
from msposejax.inference.predictor import Predictor


def eval_files(config: ml_collections.ConfigDict) -> tuple[pathlib.Path, pathlib.Path]:
  """(annotation file, photo folder) of the config's eval split of a prepared `coco/...`
  dataset: the ground truth the builder kept, the photos where it read them.

  Raises:
    FileNotFoundError: the dataset is not prepared, or its photos are no longer where they
      were read (the evaluation crops the photos, not the stored crops).
  """
  split = config.data.eval_split
  annotations = coco_data.ground_truth_path(config, split)
  counts = pipeline.builder(config).info.metadata.get("split_counts", {}).get(split, {})
  images = pathlib.Path(counts.get("images", ""))
  if not counts.get("images") or not images.is_dir():
    raise FileNotFoundError(f"the photos of {config.data.dataset} split {split!r} are not in "
                            f"{images or '(unknown)'}, where they were prepared from; the "
                            "evaluation crops the photos: put them back there")
  return annotations, images


def _host_variables(variables: Any) -> Any:
  """The variables as host arrays on every process (gathered when sharded across hosts)."""
  if all(getattr(x, "is_fully_addressable", True) for x in jax.tree.leaves(variables)):
    return jax.device_get(variables)
  return multihost_utils.process_allgather(variables, tiled=True)


def evaluate(config: ml_collections.ConfigDict, variables: Any, num_visualize: int = 0,
             results_path: str | pathlib.Path | None = None) -> dict[str, Any]:
  """The COCO report of `variables` on the eval split.

  Every process computes the same report (the evaluation is small next to training).
  `config.eval_num_examples` > 0 evaluates the first photos (by image id) until they hold
  that many boxes, and the evaluator then scores those photos only.

  Returns:
    {"oks_ap", "oks_ap50", ... (`skeleton.OKS_KEYS`, fractions), "metric", "skeleton",
    "boxes" ("ground truth" or the detections file), "num_boxes", "num_images",
    "num_results", "dropped_boxes", "skipped_images", "skipped_boxes", "crops": [(crop, keypoints, scores)]
    for predictions.png}.
  """
  skel = skeleton.from_config(config)
  ann_path, image_dir = eval_files(config)
  annotations = topdown.read_json(ann_path, "annotation file")
  images = topdown.image_paths(annotations, image_dir)
  person = topdown.person_category(annotations)
  dropped: dict[str, int] = {}
  if config.topdown.detections:
    boxes, dropped = topdown.read_detections(config.topdown.detections, images,
                                             config.topdown.min_box_score, person)
  else:
    boxes = topdown.ground_truth_boxes(annotations)
  image_ids = None
  if config.eval_num_examples:  # whole photos, until they hold that many boxes
    image_ids, count = [], 0
    for image_id in sorted({b.image_id for b in boxes}):
      if count >= config.eval_num_examples:
        break
      image_ids.append(image_id)
      count += sum(b.image_id == image_id for b in boxes)
    boxes = [b for b in boxes if b.image_id in set(image_ids)]
  predictor = Predictor(config, _host_variables(variables))
  people, skipped = topdown.predict_people(predictor, boxes, images)
  rows = topdown.results_rows(people, skel, config.topdown.keypoint_threshold,
                              config.topdown.oks_nms, person)
  if results_path is not None and jax.process_index() == 0:
    pathlib.Path(results_path).write_text(json.dumps(rows))
  if image_ids is not None:  # the evaluator scores the images evaluated, no others
    keep = set(image_ids)
    annotations = dict(annotations, images=[im for im in annotations["images"]
                                            if int(im["id"]) in keep],
                       annotations=[a for a in annotations["annotations"]
                                    if int(a["image_id"]) in keep])
  report: dict[str, Any] = coco_eval.evaluate(annotations, rows, skel)
  report.update(metric=skel.metric, skeleton=skel.name,
                boxes=config.topdown.detections or "ground truth", num_boxes=len(boxes),
                num_images=len(image_ids) if image_ids is not None else len(images),
                num_results=len(rows), dropped_boxes=dropped, skipped_images=skipped["images"],
                skipped_boxes=skipped["boxes"])
  report["crops"] = _crops(predictor, boxes[:num_visualize], images) if num_visualize else []
  return report


def _crops(predictor: Predictor, boxes: list[topdown.PersonBox],
           images: dict[int, pathlib.Path]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
  """(crop, keypoints in crop px, scores) of a few people, for predictions.png."""
  out = []
  for box in boxes:
    try:
      image = decode_image(images[box.image_id].read_bytes())
    except (OSError, ValueError, KeyError):
      continue
    crop, _ = predictor.crop(image, box.corners())
    coords, scores = predictor.predict_crops(crop[None])
    out.append((crop, coords[0], scores[0]))
  return out
