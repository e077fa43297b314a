"""MPII Human Pose: annotation parsing and the `mpii_human_pose` TFDS builder (IO).

Index base: the official annotations, and the hourglass `.h5` ones, are MATLAB (1-based).
We subtract 1 from joints, centres and head boxes *here, when parsing*, so everything inside
msposejax is 0-based; `evaluation/mpii_files.py` adds it back in the files the official
evaluation reads.

Each example stores a generous crop around one person rather than the whole photo: enough
margin for the largest scale (×1.25) and any rotation of the training augmentation, downscaled
when the person is so large that the crop would exceed what the biggest input needs. See
docs/data.md for the measured size and decode-time win.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import pathlib
from typing import Any, Iterator

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

from msposejax import skeleton
from msposejax.data import features as features_lib
from msposejax.data import geometry

_log = logging.getLogger(__name__)
K = skeleton.NUM_JOINTS


@dataclasses.dataclass
class Person:
  """One annotated person, 0-based original-image pixels."""
  image: str
  joints: np.ndarray          # (K, 2)
  visible: np.ndarray         # (K,) bool: labelled
  center: np.ndarray          # (2,)
  scale: float
  head_box: np.ndarray | None  # (4,) x1 y1 x2 y2, None when the source has none


def derived_head_box(joints: np.ndarray, visible: np.ndarray, scale: float,
                     neck_top: tuple[int, int] | None = None) -> np.ndarray:
  """Head box when the source has none: a square on the neck–head_top segment with side
  ‖head_top − neck‖ (so h = 0.6·√2·that length), or, with either joint unlabelled, a
  square of side 0.2 × person height (200·scale). `neck_top`: the (neck, head top) joint
  indices; default MPII's (upper_neck, head_top)."""
  n, t = neck_top or (skeleton.JOINT_INDEX["upper_neck"], skeleton.JOINT_INDEX["head_top"])
  if visible[n] and visible[t] and np.linalg.norm(joints[t] - joints[n]) > 1:
    mid, side = (joints[n] + joints[t]) / 2, float(np.linalg.norm(joints[t] - joints[n]))
  else:
    labelled = joints[visible] if visible.any() else joints
    mid, side = labelled.min(axis=0), 40.0 * scale
  return np.concatenate([mid - side / 2, mid + side / 2]).astype(np.float32)


def load_json(path: str | pathlib.Path) -> list[Person]:
  """The common JSON format (HRNet/mmpose): a list of {image, center, scale, joints,
  joints_vis[, head_box]}. Joints with joints_vis 0 or negative coordinates are unlabelled."""
  path = pathlib.Path(path)
  try:
    entries = json.loads(path.read_text())
  except (OSError, json.JSONDecodeError) as e:
    raise ValueError(f"cannot read MPII annotations {path}: {e}") from e
  people = []
  for i, e in enumerate(entries):
    try:
      joints = np.asarray(e["joints"], np.float64).reshape(K, 2) - 1.0
      vis = np.asarray(e.get("joints_vis", [1] * K), bool).reshape(K)
      vis &= (joints >= -1.0 + 1e-6).all(axis=1) & np.isfinite(joints).all(axis=1)
      head = e.get("head_box")
      people.append(Person(
          image=str(e["image"]), joints=np.where(vis[:, None], joints, 0.0), visible=vis,
          center=np.asarray(e["center"], np.float64) - 1.0, scale=float(e["scale"]),
          head_box=None if head is None else np.asarray(head, np.float32) - 1.0))
    except (KeyError, ValueError, TypeError) as err:
      raise ValueError(f"{path}: entry {i} is not an MPII person ({err})") from err
  return people


def head_box_from_normalize(joints: np.ndarray, visible: np.ndarray, normalize: float,
                            center: np.ndarray) -> np.ndarray:
  """(4,) square head box of side normalize / (0.6·√2), so its 0.6 × diagonal (the PCKh
  head size, `pckh.head_size_from_box`) is exactly `normalize`; centred between upper_neck
  and head_top (without them, on the person centre) so it still sits on the head."""
  n, t = skeleton.JOINT_INDEX["upper_neck"], skeleton.JOINT_INDEX["head_top"]
  mid = (joints[n] + joints[t]) / 2 if visible[n] and visible[t] else np.asarray(center)
  half = normalize / (0.6 * math.sqrt(2)) / 2
  return np.concatenate([mid - half, mid + half]).astype(np.float32)


def load_h5(path: str | pathlib.Path) -> list[Person]:
  """People of the hourglass community's `valid.h5` / `train.h5` (the standard split).

  `part` (N, 16, 2) is the official 1-based annotation truncated to integers, (0, 0) for a
  missing joint; `normalize` (N,) the official head size, kept via `head_box_from_normalize`;
  `visible` is MPII's occlusion flag, not "labelled", so it is not used (docs/data.md).
  """
  path = pathlib.Path(path)
  try:
    import h5py  # pylint: disable=g-import-not-at-top  (deferred: only .h5 annotations need it)
  except ImportError as e:
    raise ImportError(f"reading {path} needs h5py: pip install h5py") from e
  try:
    with h5py.File(path, "r") as f:
      part, center, scale, normalize, names = (
          f[k][()] for k in ("part", "center", "scale", "normalize", "imgname"))
  except (OSError, KeyError) as e:
    raise ValueError(f"cannot read MPII annotations {path} (needs part, center, scale, "
                     f"normalize, imgname): {e}") from e
  n = len(part)
  if part.shape != (n, K, 2) or center.shape != (n, 2) or {len(scale), len(normalize),
                                                             len(names)} != {n}:
    raise ValueError(f"{path}: part {part.shape}, center {center.shape}, scale, normalize "
                     f"and imgname must describe the same N people")
  people = []
  for i in range(n):
    vis = ~(part[i] == 0).all(axis=1)
    joints = np.where(vis[:, None], part[i] - 1.0, 0.0)
    centre = np.asarray(center[i], np.float64) - 1.0
    name = names[i].decode() if isinstance(names[i], bytes) else str(names[i])
    box = head_box_from_normalize(joints, vis, float(normalize[i]), centre)
    people.append(Person(name, joints, vis, centre, float(scale[i]), box))
  return people


def load_annotations(path: str | pathlib.Path) -> list[Person]:
  """People of a .json (common format) or .h5 (hourglass) annotation file."""
  return load_h5(path) if pathlib.Path(path).suffix == ".h5" else load_json(path)


def load_mat(path: str | pathlib.Path) -> list[Person]:
  """People of the training images of the official `mpii_human_pose_v1_u12_1.mat`.

  Only `img_train == 1` images carry joint annotations (the test set's are withheld).
  """
  import scipy.io  # pylint: disable=g-import-not-at-top  (jax already depends on scipy)
  mat = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)
  release = mat["RELEASE"]
  annolist = np.atleast_1d(release.annolist)
  is_train = np.atleast_1d(release.img_train)
  people = []
  for image_index, anno in enumerate(annolist):
    if not is_train[image_index]:
      continue
    for rect in np.atleast_1d(getattr(anno, "annorect", [])):
      points = getattr(getattr(rect, "annopoints", None), "point", None)
      if points is None or not hasattr(rect, "objpos") or not hasattr(rect, "scale"):
        continue
      joints = np.zeros((K, 2))
      vis = np.zeros(K, bool)
      for p in np.atleast_1d(points):
        joints[int(p.id)] = (float(p.x) - 1.0, float(p.y) - 1.0)
        vis[int(p.id)] = True
      head = np.array([rect.x1, rect.y1, rect.x2, rect.y2], np.float32) - 1.0
      people.append(Person(image=str(anno.image.name), joints=joints, visible=vis,
                           center=np.array([rect.objpos.x, rect.objpos.y], float) - 1.0,
                           scale=float(rect.scale), head_box=head))
  return people


# The crop the stored examples are cut around: the MPII recipe's (configs/mss8_mpii.py). What is
# stored does not depend on the config that trains on it, so one prepared dataset serves every
# config; the stored square is 1.25·√2 × that crop plus 4 px, which holds the crop of any
# config with scale_factor·(largest augmentation scale) ≤ 1.56 and |center_shift| ≤ ~40.
STORED_CROP = {"scale_factor": 1.25, "center_shift": 15.0}


def crop_record(image: np.ndarray, person: Person, max_input_size: int,
                scale_factor: float = STORED_CROP["scale_factor"],
                center_shift: float = STORED_CROP["center_shift"]) -> dict[str, Any]:
  """The stored example of one person: a generous crop, downscaled if needlessly large.

  The crop covers the training crop (`geometry.person_crop`: side 200·s·scale_factor, centre
  moved down by center_shift·s) at the largest augmentation scale (×1.25) under any rotation
  (×√2). Stored pixels per original pixel (zoom) are capped so the smallest augmentation scale
  (×0.75) still sees ≥ 1.1 stored px per input px at `max_input_size`.
  """
  s = person.scale
  center, train_side = geometry.person_crop(person.center, s, scale_factor, center_shift)
  side = train_side * 1.25 * math.sqrt(2) + 4
  zoom = min(1.0, 1.1 * max_input_size / (train_side * 0.75))
  h, w = image.shape[:2]
  x0, y0 = max(int(center[0] - side / 2), 0), max(int(center[1] - side / 2), 0)
  x1, y1 = min(int(math.ceil(center[0] + side / 2)), w), min(int(math.ceil(center[1] + side / 2)), h)
  if x1 <= x0 or y1 <= y0:
    raise ValueError(f"person centre {person.center.tolist()} is outside the {w}×{h} image")
  if zoom < 1.0:
    # A float source box keeps the zoom exactly isotropic (and PIL's resize antialiases).
    size = (max(1, int((x1 - x0) * zoom)), max(1, int((y1 - y0) * zoom)))
    box = (x0, y0, x0 + size[0] / zoom, y0 + size[1] / zoom)
    crop = np.asarray(Image.fromarray(image).resize(size, Image.Resampling.BILINEAR, box=box))
  else:
    crop = image[y0:y1, x0:x1]
  # stored = (orig − x0 + ½)·zoom − ½  ⇔  orig = stored/zoom + offset.
  offset = np.array([x0, y0]) - 0.5 + 0.5 / zoom
  to_stored = lambda xy: (np.asarray(xy) - offset) * zoom
  head = person.head_box if person.head_box is not None else derived_head_box(
      person.joints, person.visible, s)
  return {
      "image": features_lib.encode_jpeg(crop, quality=90),
      "image_name": person.image.encode(),
      "joints": np.where(person.visible[:, None], to_stored(person.joints), 0).astype(np.float32),
      "visible": person.visible.astype(bool),
      "center": to_stored(person.center).astype(np.float32),
      "scale": np.float32(s * zoom),
      "head_box": np.concatenate([to_stored(head[:2]), to_stored(head[2:])]).astype(np.float32),
      "offset": offset.astype(np.float32),
      "zoom": np.float32(zoom),
      "occluded": False, "crowded": False, "scale_small": False,
  }


@dataclasses.dataclass
class MpiiConfig(tfds.core.BuilderConfig):
  max_input_size: int = 384


def _find_annotations(manual_dir: pathlib.Path) -> dict[str, pathlib.Path | None]:
  # JSON first; the hourglass .h5 files are the same standard split (docs/data.md).
  names = {"train": ("train.json", "mpii_train.json", "train.h5"),
           "validation": ("valid.json", "mpii_val.json", "val.json", "valid.h5")}
  found = {}
  for split, candidates in names.items():
    found[split] = next((manual_dir / c for c in candidates if (manual_dir / c).is_file()), None)
  return found


def require_some_images(names: list[str], images: pathlib.Path, listed_in: pathlib.Path
                        ) -> None:
  """Raises FileNotFoundError, naming the folder and the names expected, when none of the
  image files `listed_in` names is in `images`: images named another way (or the wrong
  folder) would otherwise be "prepared" as a dataset with no examples. Some missing images
  are fine (skipped and counted)."""
  if any((images / name).is_file() for name in names):
    return
  files = sorted(p.name for p in images.iterdir() if p.is_file()) if images.is_dir() else []
  seen = f"; it holds {len(files)} files, e.g. {files[0]}" if files else "; it holds no files"
  raise FileNotFoundError(f"none of the {len(set(names))} images {listed_in} lists is in "
                          f"{images} (expected names like {', '.join(names[:2])}){seen}")


class MpiiHumanPose(tfds.core.GeneratorBasedBuilder):
  """MPII Human Pose, one example per annotated person, stored as generous crops."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [MpiiConfig(name="default", description="crops for inputs up to 384 px")]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put in `manual_dir` (config.data.manual_dir):
    images/            the MPII images (mpii_human_pose_v1.tar.gz, extracted), or the
                       images directly in manual_dir;
    train.json, valid.json   annotations in the common JSON format (22246 / 2958 people,
                       the standard split), optionally with "head_box" per person; or
    train.h5, valid.h5       the same split as the hourglass code's annotations (HDF5;
                       validation head sizes are then the official ones); or
    mpii_human_pose_v1_u12_1.mat   the official annotations, when you have only these (all
                       annotated training people go to `train`; there is no validation).
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(builder=self, description=__doc__,
                                 features=features_lib.features(),
                                 homepage="http://human-pose.mpi-inf.mpg.de/")

  def _split_generators(self, dl_manager):
    manual = pathlib.Path(dl_manager.manual_dir)
    images = manual / "images" if (manual / "images").is_dir() else manual
    found = _find_annotations(manual)
    splits = {}
    if found["train"] or found["validation"]:
      for split, path in found.items():
        if path is not None:
          people = load_annotations(path)
          require_some_images([p.image for p in people], images, path)
          splits[split] = self._generate_examples(people, images)
    elif (manual / "mpii_human_pose_v1_u12_1.mat").is_file():
      people = load_mat(manual / "mpii_human_pose_v1_u12_1.mat")
      require_some_images([p.image for p in people], images,
                          manual / "mpii_human_pose_v1_u12_1.mat")
      splits["train"] = self._generate_examples(people, images)
    else:
      raise FileNotFoundError(f"no MPII annotations in {manual}:{self.MANUAL_DOWNLOAD_INSTRUCTIONS}")
    return splits

  def _generate_examples(self, people: list[Person], images: pathlib.Path) -> Iterator:
    yield from generate_records(people, images, self.builder_config.max_input_size)


def generate_records(people: list[Person], images: pathlib.Path, max_input_size: int
                     ) -> Iterator[tuple[str, dict]]:
  """(key, record) per usable person; unusable ones are logged and counted, never fatal."""
  skipped = {"no labelled joint": 0, "missing image": 0, "corrupt image": 0, "bad box": 0}
  cache: tuple[str, np.ndarray | None, str] = ("", None, "")  # name, pixels, failure reason
  for i, person in enumerate(people):
    if not person.visible.any():
      skipped["no labelled joint"] += 1
      continue
    if cache[0] != person.image:
      path = images / person.image
      try:
        cache = (person.image, features_lib.decode_image(path.read_bytes()), "")
      except FileNotFoundError:
        cache = (person.image, None, "missing image")
        _log.warning("MPII: missing image %s", path)
      except ValueError as e:
        cache = (person.image, None, "corrupt image")
        _log.warning("MPII: %s: %s", path, e)
    if cache[1] is None:
      skipped[cache[2]] += 1
      continue
    try:
      record = crop_record(cache[1], person, max_input_size)
    except ValueError as e:
      skipped["bad box"] += 1
      _log.warning("MPII: person %d in %s: %s", i, person.image, e)
      continue
    yield f"{i:06d}_{person.image}", record
  if any(skipped.values()):
    _log.warning("MPII: skipped %s", ", ".join(f"{v} ({k})" for k, v in skipped.items() if v))
