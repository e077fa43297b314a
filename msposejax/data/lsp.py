"""Leeds Sports Pose and LSP-extended: `joints.mat` parsing and the `lsp` TFDS builder (IO).

The two archives store `joints` differently (checked on the files; docs/data.md):
  LSP (lsp_dataset, 2,000 images im0001.jpg…): (3, 14, N) = (x, y, flag) × joint × image;
    every joint has coordinates, and flag 1 marks a joint that is *occluded* (0 = visible).
    Occluded joints are labelled: the LSP protocol evaluates them.
  LSP-extended (lspet_dataset, 10,000 images im00001.jpg…): (14, 3, N) = joint × (x, y, flag)
    × image; flag 1 marks a joint that was *annotated* and 0 one with no coordinates (all
    16,787 such joints sit at x ≤ 0 or y ≤ 0). Occlusion is not recorded.
Coordinates are MATLAB 1-based; we subtract 1 when parsing, so everything inside msposejax
is 0-based.

LSP has no person boxes: centre = the centre of the labelled joints' bounding box, scale =
1.1 × its longer side / 200 (so a crop of side 200·scale·1.25 is 1.375 × the joints' extent:
like MPII's scale, which measures the whole person rather than the outermost joints).

Splits (reproducible from the original archives, whatever images a copy lacks):
  lsp/original: train = images 1–1000, test = 1001–2000 (the standard split).
  lsp/extended: validation = images 1–9500 whose number is a multiple of 10 (950), train =
    the other images of 1–9500 (8,550), test = 9501–10000 (only when present).
A missing or corrupt image is skipped and counted, never fatal.
"""

from __future__ import annotations

import dataclasses
import logging
import pathlib
from typing import Iterator

import numpy as np
import tensorflow_datasets as tfds

from msposejax import skeleton
from msposejax.data import features as features_lib
from msposejax.data.mpii import Person, crop_record, derived_head_box, require_some_images

_log = logging.getLogger(__name__)
K = skeleton.LSP.num_joints
SCALE_MARGIN = 1.1          # person scale = SCALE_MARGIN × joint extent / 200
NECK_TOP = (skeleton.LSP.joint_index["neck"], skeleton.LSP.joint_index["head_top"])
SMALL_EXTENT = 90.0         # "scale_small": joints span fewer original px than this


@dataclasses.dataclass
class LspAnnotations:
  """All images of one joints.mat: 0-based coordinates.

  Attributes:
    kind: "original" (LSP) or "extended" (LSP-extended).
    joints: (N, 14, 2) float64, 0 where unlabelled.
    labelled: (N, 14) bool: the joint has coordinates.
    occluded: (N, 14) bool: labelled but occluded (LSP only; all False for LSP-extended).
  """
  kind: str
  joints: np.ndarray
  labelled: np.ndarray
  occluded: np.ndarray

  def image_name(self, i: int) -> str:
    """File name of 0-based image i."""
    return f"im{i + 1:04d}.jpg" if self.kind == "original" else f"im{i + 1:05d}.jpg"


def parse_joints(array: np.ndarray) -> LspAnnotations:
  """A `joints` array of either archive → LspAnnotations; the layout says which.

  Raises ValueError for any other shape.
  """
  a = np.asarray(array, np.float64)
  if a.ndim == 3 and a.shape[:2] == (3, K):
    xy, flag, kind = a[:2].transpose(2, 1, 0), a[2].T, "original"
    labelled = np.isfinite(xy).all(-1)
    occluded = (flag == 1) & labelled
  elif a.ndim == 3 and a.shape[:2] == (K, 3):
    xy, flag, kind = a[:, :2].transpose(2, 0, 1), a[:, 2].T, "extended"
    labelled = (flag == 1) & np.isfinite(xy).all(-1)
    occluded = np.zeros_like(labelled)
  else:
    raise ValueError(f"joints.mat: `joints` has shape {a.shape}; expected LSP's (3, 14, N) or "
                     f"LSP-extended's (14, 3, N) in the joint order {skeleton.LSP.joint_names}")
  if not set(np.unique(flag[np.isfinite(flag)])) <= {0.0, 1.0}:
    raise ValueError("joints.mat: the third coordinate must be a 0/1 flag")
  joints = np.where(labelled[..., None], xy - 1.0, 0.0)
  return LspAnnotations(kind, joints, labelled, occluded)


def load_mat(path: str | pathlib.Path) -> LspAnnotations:
  import scipy.io  # pylint: disable=g-import-not-at-top  (jax already depends on scipy)
  try:
    mat = scipy.io.loadmat(str(path))
  except (OSError, ValueError) as e:
    raise ValueError(f"cannot read LSP annotations {path}: {e}") from e
  if "joints" not in mat:
    raise ValueError(f"{path} has no `joints` array (has {sorted(k for k in mat if k[0] != '_')})")
  return parse_joints(mat["joints"])


def person_box(joints: np.ndarray, labelled: np.ndarray) -> tuple[np.ndarray, float, float]:
  """(centre (2,), scale, extent px) of one person from its labelled joints."""
  pts = joints[labelled]
  lo, hi = pts.min(axis=0), pts.max(axis=0)
  extent = float(max((hi - lo).max(), 1.0))
  return (lo + hi) / 2, SCALE_MARGIN * extent / 200.0, extent


def split_indices(kind: str, num_images: int) -> dict[str, list[int]]:
  """0-based image indices of each split (see the module docstring)."""
  if kind == "original":
    return {"train": list(range(0, min(1000, num_images))),
            "test": list(range(1000, num_images))}
  numbers = np.arange(1, min(num_images, 9500) + 1)
  return {"train": [int(n - 1) for n in numbers if n % 10],
          "validation": [int(n - 1) for n in numbers if n % 10 == 0],
          "test": list(range(9500, num_images))}


def generate_records(ann: LspAnnotations, indices: list[int], images: pathlib.Path,
                     max_input_size: int, split: str = "") -> Iterator[tuple[str, dict]]:
  """(key, record) per usable image; skipped ones are counted and reported, never fatal."""
  skipped = {"missing image": 0, "corrupt image": 0, "no labelled joint": 0, "bad box": 0}
  for i in indices:
    name = ann.image_name(i)
    labelled = ann.labelled[i]
    if not labelled.any():
      skipped["no labelled joint"] += 1
      continue
    path = images / name
    try:
      pixels = features_lib.decode_image(path.read_bytes())
    except FileNotFoundError:
      skipped["missing image"] += 1
      _log.info("LSP: missing image %s", path)
      continue
    except (OSError, ValueError) as e:
      skipped["corrupt image"] += 1
      _log.warning("LSP: %s: %s", path, e)
      continue
    joints = ann.joints[i]
    center, scale, extent = person_box(joints, labelled)
    person = Person(image=name, joints=joints, visible=labelled, center=center, scale=scale,
                    # Stored for PCKh-style use only; LSP's own metric uses the torso.
                    head_box=derived_head_box(joints, labelled, scale, NECK_TOP))
    try:
      record = crop_record(pixels, person, max_input_size, center_shift=0.0)
    except ValueError as e:
      skipped["bad box"] += 1
      _log.warning("LSP: %s: %s", name, e)
      continue
    record["joint_occluded"] = ann.occluded[i].astype(bool)
    record["occluded"] = bool(ann.occluded[i].any())
    record["scale_small"] = extent < SMALL_EXTENT
    yield name, record
  if any(skipped.values()):
    _log.warning("LSP %s %s: skipped %s", ann.kind, split,
                 ", ".join(f"{v} ({k})" for k, v in skipped.items() if v))


@dataclasses.dataclass
class LspConfig(tfds.core.BuilderConfig):
  kind: str = "extended"        # original (LSP) | extended (LSP-extended)
  max_input_size: int = 256


def _find_archive(manual: pathlib.Path, kind: str) -> pathlib.Path:
  """The folder holding joints.mat + images/: manual_dir itself or its lsp(et)_dataset/."""
  sub = "lsp_dataset" if kind == "original" else "lspet_dataset"
  for folder in (manual / sub, manual):
    if (folder / "joints.mat").is_file():
      return folder
  raise FileNotFoundError(f"no joints.mat in {manual} or {manual / sub}:"
                          f"{Lsp.MANUAL_DOWNLOAD_INSTRUCTIONS}")


class Lsp(tfds.core.GeneratorBasedBuilder):
  """Leeds Sports Pose (original) and LSP-extended, one example per image (one person)."""

  VERSION = tfds.core.Version("1.0.0")
  BUILDER_CONFIGS = [
      LspConfig(name="original", kind="original",
                description="LSP: 1,000 train / 1,000 test images"),
      LspConfig(name="extended", kind="extended",
                description="LSP-extended: images 1-9500 as 8,550 train / 950 validation, "
                            "9501-10000 as test"),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """
  Put in `manual_dir` (config.data.manual_dir) the extracted archive: joints.mat and images/
  (lsp_dataset.zip for lsp/original, lspet_dataset.zip for lsp/extended), either directly or
  as manual_dir/lsp_dataset/ and manual_dir/lspet_dataset/.
  """

  def _info(self) -> tfds.core.DatasetInfo:
    return tfds.core.DatasetInfo(
        builder=self, description=__doc__,
        features=features_lib.features(K, joint_occluded=True),
        homepage="http://sam.johnson.io/research/lsp.html")

  def _split_generators(self, dl_manager):
    cfg = self.builder_config
    folder = _find_archive(pathlib.Path(dl_manager.manual_dir), cfg.kind)
    ann = load_mat(folder / "joints.mat")
    if ann.kind != cfg.kind:
      raise ValueError(f"{folder / 'joints.mat'} is the {ann.kind} archive's, but the config is "
                       f"lsp/{cfg.kind}")
    images = folder / "images"
    require_some_images([ann.image_name(i) for i in range(len(ann.joints))], images,
                        folder / "joints.mat")
    splits = {}
    for split, indices in split_indices(ann.kind, len(ann.joints)).items():
      present = [i for i in indices if (images / ann.image_name(i)).is_file()]
      if len(present) < len(indices):
        _log.warning("LSP %s %s: %d of %d images missing; they are skipped", ann.kind, split,
                     len(indices) - len(present), len(indices))
      if present:  # lsp/extended's test split exists only where images 9501-10000 do
        splits[split] = self._generate_examples(ann, indices, images, split)
    return splits

  def _generate_examples(self, ann: LspAnnotations, indices: list[int], images: pathlib.Path,
                         split: str) -> Iterator:
    yield from generate_records(ann, indices, images, self.builder_config.max_input_size, split)
