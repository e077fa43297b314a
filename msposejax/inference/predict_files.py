"""`msposejax predict`: keypoints for image files, as JSON and skeleton overlays (IO)."""

from __future__ import annotations

import json
import logging
import os
import pathlib
from typing import Any, Sequence

import numpy as np
from PIL import Image

from msposejax.data.features import decode_image
from msposejax.folder_lock import LOCK_FILE, folder_lock
from msposejax.draw import draw_skeleton
from msposejax.inference import topdown
from msposejax.inference.predictor import Predictor, person_box

_log = logging.getLogger(__name__)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


class OutputBusyError(FileExistsError):
  """Another process is writing predictions into the same output folder."""


def output_lock(out_dir: str | os.PathLike, name: str = LOCK_FILE):
  """Holds OUT's lock (`folder_lock`) while predictions are written, or raises OutputBusyError
  at once, naming the process that holds it: two runs on one folder would mix their overlays
  and keep only the last run's predictions.json. Re-entrant within a process (the command
  line takes it before restoring the checkpoint, `predict_files` again). `name`: the lock
  file's name in OUT (`predict --video` locks its output video as `.NAME.msposejax.lock`
  beside it).
  """
  path = pathlib.Path(out_dir).expanduser().resolve() / name
  return folder_lock(path, lambda holder: OutputBusyError(
      f"{path.parent} is in use by another predict ({holder}); wait for it, or give another "
      "--out"), reentrant=True)


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


def image_id_of(path: pathlib.Path) -> int | None:
  """COCO's image id of a photo named as COCO names them (000000000790.jpg → 790)."""
  return int(path.stem) if path.stem.isdigit() else None


def detection_boxes(path: str, images: Sequence[pathlib.Path], min_score: float
                    ) -> tuple[dict[str, list[Any]], dict[str, list[float]], dict[str, int],
                               dict[str, int]]:
  """People per photo from a detections file in HRNet's / COCO's results format (a list of
  {"image_id", "category_id", "bbox": [x, y, w, h], "score"}, optionally with "file_name"),
  matched to the photos by file name, else by COCO's image id in the file name.

  Returns:
    (boxes {image name: [[x1, y1, x2, y2], ...]}, their scores {image name: [...]}, the
    detections' image id of each matched photo {image name: id}, counts of dropped boxes
    (`topdown.read_detections`), plus "unmatched": boxes of no given photo).
  """
  entries = topdown.read_json(path, "detections file")
  boxes, dropped = topdown.read_detections(path, None, min_score, entries=entries)
  names_by_id = {image_id_of(p): p.name for p in images if image_id_of(p) is not None}
  # A "file_name" in the entries (not COCO's, but common) names the photo directly.
  by_file = {int(e["image_id"]): str(e["file_name"]) for e in entries
             if isinstance(e, dict) and "file_name" in e and "image_id" in e}
  out: dict[str, list[Any]] = {}
  scores: dict[str, list[float]] = {}
  ids: dict[str, int] = {}
  unmatched = 0
  for box in boxes:
    name = by_file.get(box.image_id, names_by_id.get(box.image_id))
    if name is None:
      unmatched += 1
      continue
    out.setdefault(name, []).append(list(box.corners()))
    scores.setdefault(name, []).append(box.score)
    ids[name] = box.image_id
  return out, scores, ids, {**dropped, "unmatched": unmatched}


def predict_files(predictor: Predictor, inputs: Sequence[str], out: str,
                  boxes_path: str | None = None, score_threshold: float = 0.3,
                  submission: str | None = None, detections_path: str | None = None,
                  min_box_score: float = 0.0) -> dict[str, Any]:
  """Writes OUT/predictions.json and OUT/<image stem>.png; returns the JSON content.

  People come from `boxes_path` (boxes.json), or from `detections_path` (a person detector's
  boxes in COCO's results format, `detection_boxes`), else each whole photo is one person
  (said in the JSON's "whole_image"). For a COCO-format skeleton (COCO, CrowdPose), also
  OUT/coco_results.json: COCO's keypoint results format, rescored and OKS-NMS'd as the
  evaluation does (`inference/topdown.py`), for photos with a COCO image id (the
  detections', else the one in the file name).

  With `submission`, also the MPII submission .mat of every person (images in the order
  listed, people in the order of their boxes): `pos_pred_src` (16, 2, N), 1-based.

  Unreadable or corrupt images are reported (in the JSON's "skipped" and the log) and skipped;
  so is a bad box (in "skipped_boxes", with its image and the reason), and the other people
  of its image are still predicted.

  Raises:
    OutputBusyError: another process is predicting into OUT (`output_lock`).
  """
  if boxes_path and detections_path:
    raise ValueError("give person boxes either as --boxes or as --detections, not both")
  out_dir = pathlib.Path(out)
  with output_lock(out_dir):
    return _predict_files(predictor, inputs, out_dir, boxes_path, score_threshold, submission,
                          detections_path, min_box_score)


def _predict_files(predictor: Predictor, inputs: Sequence[str], out_dir: pathlib.Path,
                   boxes_path: str | None, score_threshold: float, submission: str | None,
                   detections_path: str | None, min_box_score: float) -> dict[str, Any]:
  paths = list_images(inputs)
  box_scores: dict[str, list[float]] = {}
  # COCO image ids of the photos: the detections' own, else one in the file name.
  image_ids = {p.name: image_id_of(p) for p in paths if image_id_of(p) is not None}
  result: dict[str, Any] = {"skeleton": predictor.skeleton.name,
                            "joint_names": list(predictor.joint_names()), "images": {},
                            "skipped": {}, "skipped_boxes": [], "whole_image": []}
  if detections_path:
    boxes, box_scores, detected_ids, result["dropped_detections"] = detection_boxes(
        detections_path, paths, min_box_score)
    image_ids.update(detected_ids)
    # A photo the detector found nobody in has nobody: not the whole photo as a person.
    default_people: list[Any] = []
  else:
    boxes = load_boxes(boxes_path)
    default_people = [None]
  h, w = predictor.input_hw
  coco_people: dict[str, list] = {k: [] for k in topdown.PEOPLE_FIELDS}
  for path in paths:
    try:
      image = decode_image(path.read_bytes())
    except (OSError, ValueError) as e:
      result["skipped"][str(path)] = str(e)
      _log.warning("skipping %s: %s", path, e)
      continue
    person_boxes, person_scores, areas = [], [], []
    names = boxes.get(path.name, default_people)
    for box, box_score in zip(names, box_scores.get(path.name, [1.0] * len(names))):
      try:
        _, side = person_box(image.shape, box, scale_factor=predictor.config.data.scale_factor,
                             center_shift=predictor.config.data.center_shift, aspect_wh=w / h)
        person_boxes.append(box)
        person_scores.append(box_score)
        areas.append(topdown.crop_area(side, (h, w)))
      except ValueError as e:
        result["skipped_boxes"].append({"image": path.name, "box": box, "reason": str(e)})
        _log.warning("skipping a box of %s: %s", path, e)
    people = predictor.predict([image] * len(person_boxes), person_boxes)
    overlay = image
    entries = []
    for box, person, box_score, area in zip(person_boxes, people, person_scores, areas):
      overlay = draw_skeleton(overlay, person["keypoints"], person["scores"], score_threshold,
                              skel=predictor.skeleton)
      entry = {"box": box, "keypoints": person["keypoints"].round(2).tolist(),
               "scores": person["scores"].round(4).tolist()}
      if detections_path:
        entry["box_score"] = round(float(box_score), 4)
      entries.append(entry)
      if path.name in image_ids:
        for key, value in (("image_id", image_ids[path.name]),
                           ("keypoints", person["keypoints"]), ("scores", person["scores"]),
                           ("box_score", box_score), ("area", area)):
          coco_people[key].append(value)
    if person_boxes == [None]:
      result["whole_image"].append(path.name)
    result["images"][path.name] = entries
    Image.fromarray(overlay).save(out_dir / f"{path.stem}.png")
  (out_dir / "predictions.json").write_text(json.dumps(result, indent=1))
  if predictor.skeleton.sigmas is not None:
    _write_coco_results(coco_people, predictor, out_dir / "coco_results.json")
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


def _write_coco_results(people: dict[str, list], predictor: Predictor, path: pathlib.Path
                        ) -> None:
  """COCO's results format of the people of photos with a COCO image id (evaluation's
  rescoring and OKS-NMS, with the checkpoint's `topdown` settings)."""
  arrays = topdown.people_arrays(people, predictor.skeleton.num_joints)
  settings = predictor.config.get("topdown")
  rows = topdown.results_rows(arrays, predictor.skeleton,
                              *((settings.keypoint_threshold, settings.oks_nms) if settings
                                else ()))
  path.write_text(json.dumps(rows))
