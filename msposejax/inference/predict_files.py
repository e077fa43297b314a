"""`msposejax predict`: keypoints for image files, as JSON and skeleton overlays (IO)."""

from __future__ import annotations

import json
import logging
import pathlib
from typing import Any, Sequence

import numpy as np
from PIL import Image

from msposejax.data.features import decode_image
from msposejax.draw import draw_skeleton
from msposejax.inference.predictor import Predictor, person_box

_log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def list_images(inputs: Sequence[str]) -> list[pathlib.Path]:
  """Files given directly, plus the image files (by suffix) of any folder given."""
  paths = []
  for item in inputs:
    p = pathlib.Path(item).expanduser()
    if p.is_dir():
      paths.extend(sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES))
    else:
      paths.append(p)
  return paths


def load_boxes(path: str | None) -> dict[str, list[Any]]:
  """boxes.json: {"image file name": [person, ...], ...}, each person [x1, y1, x2, y2] or
  {"center": [x, y], "scale": s} (MPII's convention, 0-based)."""
  if not path:
    return {}
  try:
    boxes = json.loads(pathlib.Path(path).read_text())
  except (OSError, json.JSONDecodeError) as e:
    raise ValueError(f"cannot read boxes file {path}: {e}") from e
  if not isinstance(boxes, dict):
    raise ValueError(f"{path}: expected {{image name: [[x1, y1, x2, y2], ...]}}")
  return boxes


def predict_files(predictor: Predictor, inputs: Sequence[str], out: str,
                  boxes_path: str | None = None, score_threshold: float = 0.3,
                  submission: str | None = None) -> dict[str, Any]:
  """Writes OUT/predictions.json and OUT/<image stem>.png; returns the JSON content.

  With `submission`, also the MPII submission .mat of every person (images in the order
  listed, people in the order of their boxes): `pos_pred_src` (16, 2, N), 1-based.

  Unreadable or corrupt images are reported (in the JSON's "skipped" and the log) and skipped;
  so is a bad box (in "skipped_boxes", with its image and the reason), and the other people
  of its image are still predicted.
  """
  out_dir = pathlib.Path(out)
  out_dir.mkdir(parents=True, exist_ok=True)
  boxes = load_boxes(boxes_path)
  result: dict[str, Any] = {"skeleton": predictor.skeleton.name,
                            "joint_names": list(predictor.joint_names()), "images": {},
                            "skipped": {}, "skipped_boxes": []}
  for path in list_images(inputs):
    try:
      image = decode_image(path.read_bytes())
    except (OSError, ValueError) as e:
      result["skipped"][str(path)] = str(e)
      _log.warning("skipping %s: %s", path, e)
      continue
    person_boxes = []
    for box in boxes.get(path.name, [None]):
      try:
        person_box(image.shape, box, scale_factor=predictor.config.data.scale_factor,
                   center_shift=predictor.config.data.center_shift)
        person_boxes.append(box)
      except ValueError as e:
        result["skipped_boxes"].append({"image": path.name, "box": box, "reason": str(e)})
        _log.warning("skipping a box of %s: %s", path, e)
    people = predictor.predict([image] * len(person_boxes), person_boxes)
    overlay = image
    entries = []
    for box, person in zip(person_boxes, people):
      overlay = draw_skeleton(overlay, person["keypoints"], person["scores"], score_threshold,
                              skel=predictor.skeleton)
      entries.append({"box": box, "keypoints": person["keypoints"].round(2).tolist(),
                      "scores": person["scores"].round(4).tolist()})
    result["images"][path.name] = entries
    Image.fromarray(overlay).save(out_dir / f"{path.stem}.png")
  (out_dir / "predictions.json").write_text(json.dumps(result, indent=1))
  if submission:
    from msposejax.evaluation.mpii_files import write_submission_mat
    if predictor.skeleton.name != "mpii":
      raise ValueError(f"--submission writes MPII's 16 joints; this model predicts the "
                       f"{predictor.skeleton.name} skeleton")
    if result["skipped_boxes"]:
      raise ValueError(f"{len(result['skipped_boxes'])} boxes were skipped (see "
                       f"{out_dir / 'predictions.json'}), so the submission would not line up "
                       "with the annotation list; fix them and predict again")
    people = [p["keypoints"] for entries in result["images"].values() for p in entries]
    write_submission_mat(submission, np.asarray(people, np.float64).reshape(-1, 16, 2))
  return result
