"""Top-down pose estimation on COCO-format photos (IO: reads photos and JSON files).

Person boxes, from the annotation file (ground truth) or from a person detector's results in
HRNet's format, are cropped at the input's aspect ratio with 1.25 padding, predicted with the
flip test, mapped back to the photo, rescored (box score × the mean of the keypoint scores
above 0.2) and OKS-NMS'd per image (`evaluation/coco.py`): the rows COCO's evaluator scores.
HRNet's and mmpose's top-down evaluation, step for step (docs/method.md §10).

    boxes = ground_truth_boxes(annotations)        # or read_detections(path, annotations)
    people, skipped = predict_people(predictor, boxes, image_paths(annotations, image_dir))
    rows = results_rows(people, predictor.skeleton, config.topdown)
"""

from __future__ import annotations

import collections
import dataclasses
import json
import logging
import math
import pathlib
from typing import Any, Iterable

import numpy as np

from msposejax import skeleton
from msposejax.data.features import decode_image
from msposejax.evaluation import coco
from msposejax.inference.predictor import Predictor, person_box

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class PersonBox:
  """One person to predict: a box (x, y, w, h) in an image's pixels and its score (1 for a
  ground-truth box)."""
  image_id: int
  box: tuple[float, float, float, float]
  score: float = 1.0

  def corners(self) -> tuple[float, float, float, float]:
    x, y, w, h = self.box
    return (x, y, x + w, y + h)


def read_json(path: str | pathlib.Path, what: str) -> Any:
  try:
    return json.loads(pathlib.Path(path).read_text())
  except (OSError, json.JSONDecodeError, UnicodeDecodeError) as e:
    raise ValueError(f"cannot read {what} {path}: {e}") from e


def image_paths(annotations: dict[str, Any], image_dir: str | pathlib.Path
                ) -> dict[int, pathlib.Path]:
  """image id → its photo: the annotation file's `images[].file_name` in `image_dir`."""
  image_dir = pathlib.Path(image_dir)
  return {int(im["id"]): image_dir / im["file_name"] for im in annotations["images"]}


def person_category(annotations: dict[str, Any]) -> int:
  """The id of the annotation file's person category: the one that names keypoints (COCO's
  1; a file of one's own may number it otherwise)."""
  ids = [int(c["id"]) for c in annotations.get("categories", []) if c.get("keypoints")]
  if len(ids) > 1:
    raise ValueError(f"the annotation file has {len(ids)} categories with keypoints ({ids}); "
                     "top-down evaluation takes one person category")
  return ids[0] if ids else coco.PERSON_CATEGORY_ID


def ground_truth_boxes(annotations: dict[str, Any]) -> list[PersonBox]:
  """The people evaluated with ground-truth boxes (HRNet's TEST.USE_GT_BBOX), the instances
  training keeps (`data/coco.py`): person, not crowd, at least one labelled keypoint, a
  positive area, the box clipped to the image as mmpose clips it (x1 = clip(x, 0, W − 1),
  x2 = clip(x + w, 0, W − 1); HRNet's x2 is 1 px less) with a positive size."""
  sizes = {int(im["id"]): (im["width"], im["height"]) for im in annotations["images"]}
  person = person_category(annotations)
  boxes = []
  for ann in annotations["annotations"]:
    if ann.get("category_id", person) != person or int(ann["image_id"]) not in sizes \
        or ann.get("iscrowd", 0) or not any(np.asarray(ann.get("keypoints", [0]))[2::3] > 0):
      continue
    width, height = sizes[int(ann["image_id"])]
    x, y, w, h = (float(v) for v in ann["bbox"])
    x1, y1 = min(max(x, 0.0), width - 1.0), min(max(y, 0.0), height - 1.0)
    x2, y2 = min(max(x + w, 0.0), width - 1.0), min(max(y + h, 0.0), height - 1.0)
    if ann.get("area", 1) > 0 and x2 > x1 and y2 > y1:
      boxes.append(PersonBox(int(ann["image_id"]), (x1, y1, x2 - x1, y2 - y1), 1.0))
  return boxes


PEOPLE_FIELDS = ("image_id", "keypoints", "scores", "box_score", "area")


def crop_area(crop_height: float, input_hw: tuple[int, int]) -> float:
  """The area of a person's padded crop box (height × height·W/H): OKS-NMS's instance size,
  as HRNet's `np.prod(scale * 200)`."""
  h, w = input_hw
  return crop_height * crop_height * w / h


def people_arrays(people: dict[str, list], num_joints: int) -> dict[str, np.ndarray]:
  """Per-person lists of `PEOPLE_FIELDS` → arrays (N,), (N, K, 2), (N, K), (N,), (N,)."""
  arrays = {key: np.asarray(people[key], np.float64) for key in PEOPLE_FIELDS}
  arrays["image_id"] = arrays["image_id"].astype(np.int64)
  arrays["keypoints"] = arrays["keypoints"].reshape(-1, num_joints, 2)
  arrays["scores"] = arrays["scores"].reshape(-1, num_joints)
  return arrays


def read_detections(path: str | pathlib.Path, image_ids: Iterable[int] | None = None,
                    min_score: float = 0.0, category_id: int = coco.PERSON_CATEGORY_ID,
                    entries: Any = None) -> tuple[list[PersonBox], dict[str, int]]:
  """Person boxes of a detections file in HRNet's format: a JSON list of
  {"image_id", "category_id", "bbox": [x, y, w, h], "score"}.

  Boxes of other categories and below `min_score` are dropped and counted; no score cut by
  default (HRNet's and mmpose's evaluation keep every box).

  Args:
    path: the file.
    image_ids: the images that exist (the annotation file's); a box of another image is an
      error, as in a results file of the wrong split.
    min_score: boxes scoring below it are dropped.
    category_id: the person category (`person_category`); an entry without one is a person.
    entries: the file's content when the caller has read it already.

  Returns:
    (boxes, counts of what was dropped: "other_category", "below_min_score", "empty_box").

  Raises:
    ValueError: a file that is not such a list, or an entry with a missing or non-finite
      field or an unknown image id: one line naming the entry.
  """
  if entries is None:
    entries = read_json(path, "detections file")
  if not isinstance(entries, list):
    raise ValueError(f"detections file {path}: expected a list of {{image_id, category_id, "
                     f"bbox, score}}, got {type(entries).__name__}")
  known = None if image_ids is None else set(image_ids)
  boxes, dropped = [], collections.Counter()
  for i, det in enumerate(entries):
    try:
      image_id, bbox, score = int(det["image_id"]), [float(v) for v in det["bbox"]], \
          float(det["score"])
      category = int(det.get("category_id", category_id))
    except (KeyError, TypeError, ValueError) as e:
      raise ValueError(f"detections file {path}: entry {i} is not {{image_id, category_id, "
                       f"bbox: [x, y, w, h], score}} ({type(e).__name__}: {e})") from None
    if len(bbox) != 4 or not all(map(math.isfinite, bbox + [score])):
      raise ValueError(f"detections file {path}: entry {i} has a bbox {bbox} or score {score} "
                       f"that is not 4 + 1 finite numbers")
    if known is not None and image_id not in known:
      raise ValueError(f"detections file {path}: entry {i} is of image {image_id}, which the "
                       f"annotation file does not hold (another split?)")
    if category != category_id:
      dropped["other_category"] += 1
    elif score < min_score:
      dropped["below_min_score"] += 1
    elif bbox[2] <= 0 or bbox[3] <= 0:
      dropped["empty_box"] += 1
    else:
      boxes.append(PersonBox(image_id, tuple(bbox), score))
  return boxes, dict(dropped)


def predict_people(predictor: Predictor, boxes: list[PersonBox],
                   images: dict[int, pathlib.Path]) -> tuple[dict[str, np.ndarray], dict]:
  """Keypoints in photo pixels of every box, image by image (each photo decoded once).

  Returns:
    people: {"image_id" (N,), "keypoints" (N, K, 2), "scores" (N, K), "box_score" (N,),
      "area" (N,): the padded crop box's area, OKS-NMS's instance size}.
    skipped: {"images": {path: reason}, "boxes": count of the boxes not predicted (those of
      skipped photos, and boxes entirely outside their photo)}; a missing or corrupt photo
      or an impossible box is skipped, never fatal.
  """
  h, w = predictor.input_hw
  by_image: dict[int, list[PersonBox]] = collections.defaultdict(list)
  for b in boxes:
    by_image[b.image_id].append(b)
  k = predictor.skeleton.num_joints
  out: dict[str, list] = {key: [] for key in PEOPLE_FIELDS}
  skipped: dict[str, Any] = {"images": {}, "boxes": 0}
  for image_id in sorted(by_image):
    path, people = images.get(image_id), by_image[image_id]
    try:
      if path is None:
        raise ValueError(f"image id {image_id} is not in the annotation file")
      image = decode_image(path.read_bytes())
    except (OSError, ValueError) as e:
      skipped["images"][str(path or image_id)] = str(e)
      skipped["boxes"] += len(people)
      _log.warning("skipping image %s: %s", path or image_id, e)
      continue
    sides = []
    for box in list(people):
      try:
        sides.append(person_box(image.shape, box.corners(), center_shift=0.0, aspect_wh=w / h,
                                scale_factor=predictor.config.data.scale_factor)[1])
      except ValueError as e:  # e.g. a detection entirely outside its photo
        people.remove(box)
        skipped["boxes"] += 1
        _log.warning("skipping a box of image %s: %s", image_id, e)
    corners = [p.corners() for p in people]
    for box, side, result in zip(people, sides,
                                 predictor.predict([image] * len(people), corners)):
      out["image_id"].append(image_id)
      out["keypoints"].append(result["keypoints"])
      out["scores"].append(result["scores"])
      out["box_score"].append(box.score)
      out["area"].append(crop_area(side, (h, w)))
  return people_arrays(out, k), skipped


def results_rows(people: dict[str, np.ndarray], skel: skeleton.Skeleton,
                 keypoint_threshold: float = coco.KEYPOINT_SCORE_THRESHOLD,
                 oks_nms: float | None = coco.NMS_THRESHOLD,
                 category_id: int = coco.PERSON_CATEGORY_ID) -> list[dict[str, Any]]:
  """`predict_people`'s people → COCO results rows: rescored, OKS-NMS'd per image."""
  if skel.sigmas is None:
    raise ValueError(f"the {skel.name} skeleton has no OKS sigmas: COCO results need a "
                     "COCO-format skeleton")
  return coco.results_rows(people["image_id"], people["keypoints"], people["scores"],
                           people["box_score"], people["area"], skel.sigmas,
                           keypoint_threshold, oks_nms, category_id)
