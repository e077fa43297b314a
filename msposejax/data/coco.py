"""COCO-format person keypoints: instance filtering and the `coco_keypoints` TFDS builder (IO).

One example per kept person instance, stored as a generous crop around its box (like MPII's,
`mpii.crop_record`). Any COCO-format keypoint file works: COCO 2017 as downloaded, CrowdPose,
OCHuman or a user's own, named by `config.data.dataset`:

  coco/2017          manual_dir/annotations/person_keypoints_{train,val}2017.json with the
                     images in manual_dir/{train,val}2017/ (the official layout);
  coco/crowdpose     crowdpose_trainval.json → train, crowdpose_test.json → validation,
                     images/, CrowdPose's 14-joint skeleton;
  coco/ochuman       ochuman_coco_format_{val,test}_range_0.00_1.00.json → validation, test;
  coco/OPTIONS       comma-separated key=value (`builder_config`): train=, validation=, test=
                     (annotation files, relative to manual_dir, ".json" optional), images=
                     (the image folder), holdout=N (a file given only as train= is split:
                     images whose id is a multiple of N form the validation split),
                     skeleton= (a `skeleton.SKELETONS` name, default coco).

Kept instances are what HRNet and mmpose keep for top-down training: not a crowd, at least one
labelled keypoint (v > 0), a positive area and a box that still has positive width and height
after clipping to the photo (mmpose's clip: x1 = clip(x, 0, W−1), x2 = clip(x + w, 0, W−1)).
Every other annotation is counted by its first failing reason (`SKIP_REASONS`), as is every
instance of a missing or corrupt image; the counts are logged and stored in the dataset's
metadata (`split_counts`). Coordinates are COCO's, unchanged (0-based pixels).

The ground truth of every non-train split (the file itself, or the cut of it to the held-out
images) is copied into the prepared dataset's folder, so evaluation needs no manual_dir
(`ground_truth_path`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import pathlib
import re
import shutil
from typing import Any, Iterator

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from msposejax import skeleton
from msposejax.data import features as features_lib
from msposejax.evaluation import coco_eval

_log = logging.getLogger(__name__)

# The stored crop holds a top-down crop of any config: the box widened to an aspect of up to
# 4:3 or 3:4 (HRNet's `_xywh2cs`), × 1.25 padding, × the largest augmentation scale (HRNet's
# COCO recipe: 1 ± 0.35; ours: 1 ± 0.25), under any rotation (× √2), plus 4 px.
MAX_ASPECT = 4 / 3
PADDING = 1.25
AUG_SCALE_MAX = 1.35
AUG_SCALE_MIN = 0.65
SKIP_REASONS = ("not a person", "crowd", "no keypoints", "empty box", "missing image",
                "corrupt image")

PRESETS: dict[str, dict[str, str]] = {
    "2017": {"train": "annotations/person_keypoints_train2017",
             "validation": "annotations/person_keypoints_val2017"},
    "crowdpose": {"train": "crowdpose_trainval", "validation": "crowdpose_test",
                  "skeleton": "crowdpose"},
    "ochuman": {"validation": "ochuman_coco_format_val_range_0.00_1.00",
                "test": "ochuman_coco_format_test_range_0.00_1.00"},
}
SPLITS = ("train", "validation", "test")
OPTIONS = SPLITS + ("images", "holdout", "skeleton")


@dataclasses.dataclass
class CocoConfig(tfds.core.BuilderConfig):
  """Attributes: files ((split, annotation file) pairs, relative to manual_dir), images (the
  image folder, "" = found next to each file), holdout (N: validation = train file's images
  with id % N == 0), skeleton (name), max_input_size (longer input side the zoom serves)."""
  files: tuple[tuple[str, str], ...] = ()
  images: str = ""
  holdout: int = 0
  skeleton: str = "coco"
  max_input_size: int = 384


def builder_config(spec: str) -> CocoConfig:
  """The builder config named by the part after "coco/" (a preset or key=value options)."""
  usage = (f"coco/{spec}: expected a preset ({', '.join(PRESETS)}) or options "
           "train=FILE,validation=FILE,test=FILE,images=DIR,holdout=N,skeleton=NAME")
  if spec in PRESETS:
    options, name = dict(PRESETS[spec]), spec
  elif "=" in spec:
    options = {}
    for item in spec.split(","):
      key, _, value = item.partition("=")
      if key not in OPTIONS or not value or key in options:
        raise ValueError(usage)
      options[key] = value
    name = re.sub(r"[^\w.\-]+", "_", spec).strip("_")
  else:
    raise ValueError(usage)
  holdout = options.pop("holdout", "0")
  if not holdout.isdigit():
    raise ValueError(f"coco/{spec}: holdout must be a whole number N (1 in N images)")
  files = tuple((s, options[s]) for s in SPLITS if s in options)
  if not files:
    raise ValueError(usage)
  if int(holdout) and ("validation" in options or "train" not in options):
    raise ValueError(f"coco/{spec}: holdout=N splits the train= file; give no validation=")
  skel = skeleton.get(options.get("skeleton", "coco"))
  return CocoConfig(name=name, files=files, images=options.get("images", ""),
                    holdout=int(holdout), skeleton=skel.name,
                    description=f"COCO-format keypoints: {spec}")


@dataclasses.dataclass
class Instance:
  """One kept person, original-photo pixels."""
  image_id: int
  annotation_id: int
  file_name: str
  joints: np.ndarray     # (K, 2)
  labels: np.ndarray     # (K,) COCO's v: 0 unlabelled, 1 labelled not visible, 2 visible
  bbox: np.ndarray       # (4,) x, y, w, h clipped to the photo
  area: float            # the file's; without one 0.53 × the clipped box (mmpose's rule)


def person_categories(data: dict[str, Any], num_joints: int, source: str) -> set[int]:
  """Ids of the categories with keypoints (the persons); raises if their count is not K."""
  cats = [c for c in data.get("categories", []) if c.get("keypoints")]
  if not cats:
    raise ValueError(f"{source}: no category with keypoints (is it a keypoint file?)")
  for c in cats:
    if len(c["keypoints"]) != num_joints:
      raise ValueError(f"{source}: category {c.get('name')!r} has {len(c['keypoints'])} "
                       f"keypoints, the skeleton {num_joints} (name it: skeleton=...)")
  return {int(c["id"]) for c in cats}


def clip_box(bbox: list[float], width: int, height: int) -> np.ndarray | None:
  """(x, y, w, h) clipped to a width × height photo as mmpose does; None when empty."""
  x, y, w, h = (float(v) for v in bbox)
  x1, y1 = np.clip(x, 0, width - 1), np.clip(y, 0, height - 1)
  x2, y2 = np.clip(x + w, 0, width - 1), np.clip(y + h, 0, height - 1)
  if not (x2 > x1 and y2 > y1):
    return None
  return np.array([x1, y1, x2 - x1, y2 - y1], np.float64)


def select_instances(data: dict[str, Any], image_ids: set[int] | None, num_joints: int,
                     source: str = "annotations") -> tuple[dict[int, list[Instance]],
                                                           dict[str, int]]:
  """Kept instances per image id (file order) and the skipped counts by reason.

  Only annotations of `image_ids` (None: all) are considered. "missing image" here counts
  annotations whose image is not in the file's `images`; the builder adds those whose photo
  is missing or corrupt.
  """
  persons = person_categories(data, num_joints, source)
  images = {int(im["id"]): im for im in data.get("images", [])}
  skipped = {r: 0 for r in SKIP_REASONS}
  kept: dict[int, list[Instance]] = {}
  for index, ann in enumerate(data.get("annotations", [])):
    image_id = int(ann["image_id"])
    if image_ids is not None and image_id not in image_ids:
      continue
    kpts = np.asarray(ann.get("keypoints") or np.zeros(3 * num_joints), np.float64)
    if kpts.size != 3 * num_joints:
      raise ValueError(f"{source}: annotation {ann.get('id')} has {kpts.size} keypoint values, "
                       f"expected 3 × {num_joints}")
    kpts = kpts.reshape(num_joints, 3)
    box = None
    if image_id in images and "bbox" in ann and float(ann.get("area", 1.0)) > 0:
      box = clip_box(ann["bbox"], int(images[image_id]["width"]), int(images[image_id]["height"]))
    reason = ("not a person" if int(ann.get("category_id", -1)) not in persons
              else "crowd" if ann.get("iscrowd", 0)
              else "no keypoints" if not (kpts[:, 2] > 0).any()
              else "missing image" if image_id not in images
              else "empty box" if box is None else None)
    if reason:
      skipped[reason] += 1
      continue
    # Files without `area` (CrowdPose): mmpose's OKS scale, 0.53 × the clipped box, ≥ 1.
    area = float(ann["area"]) if "area" in ann else max(1.0, 0.53 * float(box[2] * box[3]))
    kept.setdefault(image_id, []).append(Instance(
        # Without ids (a hand-made file), the position in the file keeps example keys unique.
        image_id=image_id, annotation_id=int(ann.get("id", -1 - index)),
        file_name=str(images[image_id]["file_name"]), joints=kpts[:, :2],
        labels=kpts[:, 2].astype(int), bbox=box, area=area))
  return kept, skipped


def holdout_ids(data: dict[str, Any], holdout: int) -> set[int]:
  """The held-out (validation) images of a file: those whose id is a multiple of N."""
  return {int(im["id"]) for im in data.get("images", []) if int(im["id"]) % holdout == 0}


def cut(data: dict[str, Any], image_ids: set[int]) -> dict[str, Any]:
  """The annotation file restricted to `image_ids`: their images and all their annotations
  (crowds and keypoint-free ones too: the evaluator uses them), the rest kept verbatim."""
  return {**data, "images": [im for im in data["images"] if int(im["id"]) in image_ids],
          "annotations": [a for a in data["annotations"] if int(a["image_id"]) in image_ids]}


def stored_crop_side(bbox: np.ndarray) -> float:
  """Side of the stored square for a box (x, y, w, h): see MAX_ASPECT."""
  return MAX_ASPECT * PADDING * AUG_SCALE_MAX * math.sqrt(2) * float(max(bbox[2], bbox[3])) + 4


def crop_record(image: np.ndarray, inst: Instance, max_input_size: int) -> dict[str, Any]:
  """The stored example of one instance: a square crop around its box, downscaled when the
  smallest augmentation scale would still see ≥ 1.1 stored px per input px at an input whose
  longer side is `max_input_size`. original = stored / zoom + offset, as for MPII."""
  x, y, w, h = inst.bbox
  centre = np.array([x + w / 2, y + h / 2])
  side = stored_crop_side(inst.bbox)
  zoom = min(1.0, 1.1 * max_input_size / (PADDING * AUG_SCALE_MIN * max(w, h)))
  ih, iw = image.shape[:2]
  x0, y0 = max(int(centre[0] - side / 2), 0), max(int(centre[1] - side / 2), 0)
  x1 = min(int(math.ceil(centre[0] + side / 2)), iw)
  y1 = min(int(math.ceil(centre[1] + side / 2)), ih)
  if zoom < 1.0:
    # A float source box keeps the zoom exactly isotropic (and PIL's resize antialiases);
    # rounded up inside the photo, down at its border (a box may not leave the photo).
    size = tuple(max(1, min(math.ceil((b - a) * zoom), math.floor((n - a) * zoom)))
                 for a, b, n in ((x0, x1, iw), (y0, y1, ih)))
    crop = np.asarray(Image.fromarray(image).resize(
        size, Image.Resampling.BILINEAR, box=(x0, y0, x0 + size[0] / zoom, y0 + size[1] / zoom)))
  else:
    crop = image[y0:y1, x0:x1]
  # stored = (orig − x0 + ½)·zoom − ½  ⇔  orig = stored/zoom + offset.
  offset = np.array([x0, y0]) - 0.5 + 0.5 / zoom
  to_stored = lambda xy: (np.asarray(xy, np.float64) - offset) * zoom
  labelled = inst.labels > 0
  return {
      "image": features_lib.encode_jpeg(crop, quality=90),
      "image_name": inst.file_name.encode(),
      "joints": np.where(labelled[:, None], to_stored(inst.joints), 0).astype(np.float32),
      "visible": labelled,
      "joint_occluded": inst.labels == 1,
      "center": to_stored(centre).astype(np.float32),
      "scale": np.float32(h * zoom / 200),   # a fallback: the transform crops from `bbox`
      "head_box": np.zeros(4, np.float32),
      "offset": offset.astype(np.float32),
      "zoom": np.float32(zoom),
      "occluded": bool((inst.labels == 1).any()), "crowded": False, "scale_small": False,
      "bbox": np.concatenate([to_stored(inst.bbox[:2]), inst.bbox[2:] * zoom]).astype(np.float32),
      "image_id": np.int64(inst.image_id),
      "annotation_id": np.int64(inst.annotation_id),
      "area": np.float32(inst.area),
  }


def generate_records(kept: dict[int, list[Instance]], images: pathlib.Path,
                     max_input_size: int, skipped: dict[str, int]
                     ) -> Iterator[tuple[str, dict]]:
  """(key, record) per kept instance whose photo decodes; a missing or corrupt photo's
  instances are added to `skipped` (in place), never fatal."""
  for instances in kept.values():
    path = images / instances[0].file_name
    try:
      pixels = features_lib.decode_image(path.read_bytes())
    except FileNotFoundError:
      skipped["missing image"] += len(instances)
      _log.info("COCO: missing image %s", path)
      continue
    except (OSError, ValueError) as e:
      skipped["corrupt image"] += len(instances)
      _log.warning("COCO: %s: %s", path, e)
      continue
    for inst in instances:
      yield f"{inst.image_id}_{inst.annotation_id}", crop_record(pixels, inst, max_input_size)


def _find_file(manual: pathlib.Path, name: str) -> pathlib.Path:
  for folder in (manual, manual / "annotations"):
    for candidate in (folder / name, folder / f"{name}.json"):
      if candidate.is_file():
        return candidate
  raise FileNotFoundError(f"annotation file {name!r} not in {manual} or {manual / 'annotations'}"
                          f":{CocoKeypoints.MANUAL_DOWNLOAD_INSTRUCTIONS}")


def _find_images(manual: pathlib.Path, annotation: pathlib.Path, images: str) -> pathlib.Path:
  """The image folder: `images` if given, else the file's COCO split folder (train2017 for
  person_keypoints_train2017.json), else images/, else manual_dir itself."""
  if images:
    if not (manual / images).is_dir():
      raise FileNotFoundError(f"image folder {manual / images} does not exist")
    return manual / images
  tail = annotation.stem.rsplit("_", 1)[-1]
  for folder in (manual / tail, manual / "images" / tail, manual / "images"):
    if folder.is_dir():
      return folder
  return manual


def ground_truth_file(data_dir: str | pathlib.Path, split: str) -> pathlib.Path:
  """Where a prepared dataset keeps the ground truth of `split` (COCO format)."""
  return pathlib.Path(data_dir) / f"ground_truth_{split}.json"


def ground_truth_path(config: Any, split: str | None = None) -> pathlib.Path:
  """The COCO-format annotation file of a prepared `coco/...` dataset's split (default:
  `config.data.eval_split`), for the evaluator; raises FileNotFoundError if absent."""
  from msposejax.data import pipeline  # pylint: disable=g-import-not-at-top  (no cycle at import)
  split = split or config.data.eval_split
  builder = pipeline.builder(config)
  path = ground_truth_file(builder.data_dir, split)
  if not path.is_file():
    raise FileNotFoundError(f"no ground truth for split {split!r} of {config.data.dataset} at "
                            f"{path} (not prepared, a train split, or prepared by an older "
                            "version: delete the folder and prepare again)")
  return path


class CocoKeypoints(tfds.core.GeneratorBasedBuilder):
  """COCO-format person keypoints, one example per kept instance, stored as generous crops."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [builder_config(name) for name in PRESETS]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put in `manual_dir` (config.data.manual_dir):
    coco/2017: annotations/person_keypoints_train2017.json, person_keypoints_val2017.json and
      the folders train2017/, val2017/ (annotations_trainval2017.zip, train2017.zip,
      val2017.zip, extracted);
    coco/crowdpose: crowdpose_trainval.json, crowdpose_test.json, images/;
    coco/ochuman: ochuman_coco_format_{val,test}_range_0.00_1.00.json, images/;
    coco/train=FILE[,validation=FILE][,images=DIR][,holdout=N][,skeleton=NAME]: any
      COCO-format keypoint file (docs/data.md).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    k = skeleton.get(self.builder_config.skeleton).num_joints
    return tfds.core.DatasetInfo(
        builder=self, description=__doc__,
        features=features_lib.features(k, joint_occluded=True, instances=True),
        metadata=tfds.core.MetadataDict(), homepage="https://cocodataset.org/#keypoints-2020")

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    # Absolute: the evaluation reads the photos from the stored folder, from any directory.
    manual = pathlib.Path(os.path.abspath(dl_manager.manual_dir))
    k = skeleton.get(cfg.skeleton).num_joints
    self.info.metadata["split_counts"] = {}
    splits = {}
    for split, name in cfg.files:
      path = _find_file(manual, name)
      try:
        data = json.loads(path.read_text())
      except (OSError, json.JSONDecodeError) as e:
        raise ValueError(f"cannot read COCO annotations {path}: {e}") from e
      person_categories(data, k, str(path))  # a wrong skeleton fails now, not mid-build
      images = _find_images(manual, path, cfg.images)
      parts = {split: None}
      if cfg.holdout and split == "train":
        held = holdout_ids(data, cfg.holdout)
        parts = {"train": {int(im["id"]) for im in data["images"]} - held, "validation": held}
      for part, ids in parts.items():
        if part != "train":
          # What the evaluator needs (ids, num_keypoints, bbox) is checked now, not at the
          # first evaluation of a training that has run for hours.
          coco_eval.check_ground_truth(data if ids is None else cut(data, ids), str(path))
          out = ground_truth_file(self.data_dir, part)
          if ids is None:
            shutil.copyfile(path, out)
          else:
            out.write_text(json.dumps(cut(data, ids)))
        splits[part] = self._generate_examples(data, ids, images, part, str(path))
    return splits

  def _generate_examples(self, data: dict, ids: set[int] | None, images: pathlib.Path,
                         split: str, source: str) -> Iterator:
    cfg = self.builder_config
    kept, skipped = select_instances(data, ids, skeleton.get(cfg.skeleton).num_joints, source)
    count = 0
    for key, record in generate_records(kept, images, cfg.max_input_size, skipped):
      count += 1
      yield key, record
    total = count + sum(skipped.values())
    self.info.metadata["split_counts"][split] = {
        "annotations": total, "kept": count, "skipped": skipped, "source": source,
        "images": str(images)}
    _log.warning("COCO %s %s: kept %d of %d annotations; skipped %s", cfg.name, split, count,
                 total, ", ".join(f"{v} ({r})" for r, v in skipped.items() if v) or "none")
    if not count:
      raise ValueError(f"coco/{cfg.name} split {split!r} ({source}, images in {images}) has no "
                       f"usable person: skipped {skipped}")
