"""Per-example train/eval transforms: decode → crop/augment → mask → multi-scale targets.

Pure functions of (record, rng, spec) plus thin grain wrappers: `ExampleSpec` holds the few
settings of a config that an example needs, read once per pipeline rather than per example.
A record that cannot be turned into an example (corrupt image, non-finite labelled joint)
becomes an all-zero example with `valid=False` and a logged warning, so a bad file never
kills a worker and never produces a wrong target; the train loop counts these.
"""

from __future__ import annotations

import dataclasses
import logging

import grain.python as grain
import ml_collections
import numpy as np

from msposejax import library_internals, skeleton
from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.data import augment, geometry, keypoint_masking, worker_guard
from msposejax.data.features import decode_pil
from msposejax.evaluation.pckh import head_size_from_box, torso_size
from msposejax.input_size import input_hw

_log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class ExampleSpec:
  """What the per-example transforms read of a config (picklable: grain's workers get a copy).

  Attributes:
    input_size: `config.input_size`: n of an (n, n, 3) crop, or (H, W) of an (H, W, 3) one.
    scale_factor: crop height = 200·scale·scale_factor (`data.scale_factor`); for a record
      with a `bbox`, the padding around the box (`geometry.box_center_scale`).
    center_shift: px per unit scale that the crop centre moves down (`data.center_shift`);
      not applied to a `bbox` (a box's centre is the body's).
    skeleton: the dataset's skeleton (flip pairs, metric).
    codec: keypoints → multi-scale targets and weights.
    augment: `data.augment` (`augment.sample_augmentation`).
    mask: `data.mask` (`keypoint_masking.mask_keypoints`).
  """
  input_size: int | tuple[int, int]
  scale_factor: float
  center_shift: float
  skeleton: skeleton.Skeleton
  codec: MultiScaleCodec
  augment: ml_collections.ConfigDict
  mask: ml_collections.ConfigDict

  @classmethod
  def from_config(cls, config: ml_collections.ConfigDict) -> "ExampleSpec":
    data = config.data
    h, w = input_hw(config)
    return cls(input_size=h if h == w else (h, w), scale_factor=float(data.scale_factor),
               center_shift=float(data.center_shift), skeleton=skeleton.from_config(config),
               codec=MultiScaleCodec.from_config(config),
               augment=data.augment.copy_and_resolve_references(),
               mask=data.mask.copy_and_resolve_references())


def crop_person(record: dict, aug: augment.Augmentation, spec: ExampleSpec):
  """Crops (and augments) the person of `record` into the H×W input.

  The person is the record's `bbox` (x, y, w, h in stored px) where it has one, given the
  input's aspect and `scale_factor` padding (`geometry.box_center_scale`, top-down COCO), else
  its `center` and `scale` (`geometry.person_crop`, MPII and LSP).

  Returns (image (H,W,3) uint8, joints (K,2) in crop px, visible (K,) bool, M 3×3 stored→crop).
  """
  n = spec.input_size
  if "bbox" in record:
    height, width = input_hw(n)
    center, scale = geometry.box_center_scale(record["bbox"], width / height, spec.scale_factor)
    side = geometry.PIXEL_STD * scale[1]
  else:
    center, side = geometry.person_crop(record["center"], record["scale"], spec.scale_factor,
                                        spec.center_shift)
  side *= aug.scale
  m = geometry.crop_matrix(center, side, n, aug.rotation, aug.flip)
  # Crop px per stored px is H/side: decode a JPEG at ½, ¼, … of its size when that suffices.
  image, (w0, h0) = decode_pil(record["image"], reduce_to=input_hw(n)[0] / side)
  draft = geometry.scale_matrix(image.width / w0, image.height / h0)
  crop = augment.colour_jitter(geometry.warp_image(image, m @ np.linalg.inv(draft), n),
                              aug.gains)
  visible = np.asarray(record["visible"], bool)
  joints = np.where(visible[:, None], np.asarray(record["joints"], np.float64), 0.0)
  xy = geometry.apply_affine(m, joints)
  if aug.flip:
    perm = np.asarray(spec.skeleton.flip_permutation())
    xy, visible = xy[perm], visible[perm]
  return crop, xy, visible, m


def train_example(record: dict, rng: np.random.Generator, spec: ExampleSpec,
                  debug: bool = False) -> dict:
  """One augmented, optionally keypoint-masked training example with its targets.

  Returns {"image": (H,W,3) uint8, "targets": {r: (r,r·W/H,K) f32}, "weights": (K,) f32,
  "valid": bool}; with debug, also "joints" (K,2) crop px and "mask_ops".
  """
  aug = augment.sample_augmentation(rng, spec.augment)
  image, xy, visible, _ = crop_person(record, aug, spec)
  targets, weights = spec.codec.encode(xy, visible)
  image, ops = keypoint_masking.mask_keypoints(image, xy, weights, rng, spec.mask)
  out = {"image": image, "targets": targets, "weights": weights, "valid": np.bool_(True)}
  if debug:
    out.update(joints=xy.astype(np.float32), mask_ops=ops)
  return out


def normaliser(record: dict, skel: skeleton.Skeleton) -> float:
  """The metric's per-person size in stored px: head size (PCKh) or torso size (PCK; NaN
  when a torso joint is unlabelled)."""
  if skel.metric == "PCK":
    return float(torso_size(np.asarray(record["joints"])[None], np.asarray(record["visible"])[None],
                            skel)[0])
  return float(head_size_from_box(np.asarray(record["head_box"])[None])[0])


def eval_example(record: dict, spec: ExampleSpec) -> dict:
  """Un-augmented crop plus what maps predictions back: {"image", "targets", "weights",
  "valid", "crop_to_stored" (3,3), "joints" (K,2) stored px, "visible" (K,), "normaliser"
  (the metric's size, `normaliser`), "joint_occluded" (K,), "offset" (2,), "zoom",
  "occluded", "crowded", "scale_small"}."""
  image, xy, visible, m = crop_person(record, augment.identity_augmentation(), spec)
  targets, weights = spec.codec.encode(xy, visible)
  k = len(visible)
  return {"image": image, "targets": targets, "weights": weights, "valid": np.bool_(True),
          "crop_to_stored": np.linalg.inv(m).astype(np.float32),
          "joints": np.asarray(record["joints"], np.float32),
          "visible": np.asarray(record["visible"], bool),
          "normaliser": np.float32(normaliser(record, spec.skeleton)),
          "joint_occluded": np.asarray(record.get("joint_occluded", np.zeros(k, bool)), bool),
          "offset": np.asarray(record["offset"], np.float32),
          "zoom": np.float32(record["zoom"]),
          **{tag: np.bool_(record[tag]) for tag in ("occluded", "crowded", "scale_small")}}


def _empty_eval(spec: ExampleSpec) -> dict:
  k = spec.codec.num_joints
  return {**spec.codec.empty_example(), "crop_to_stored": np.eye(3, dtype=np.float32),
          "joints": np.zeros((k, 2), np.float32), "visible": np.zeros(k, bool),
          "normaliser": np.float32(1.0), "joint_occluded": np.zeros(k, bool),
          "offset": np.zeros(2, np.float32),
          "zoom": np.float32(1.0), "occluded": np.bool_(False), "crowded": np.bool_(False),
          "scale_small": np.bool_(False)}


def _name(record: dict) -> str:
  name = record.get("image_name", b"?")
  return name.decode(errors="replace") if isinstance(name, bytes) else str(name)


class _GuardedInWorkers(library_internals.WorkerStartHook):
  """A transform that guards the grain worker it is unpickled in (`worker_guard`), as the
  worker starts: a worker whose trainer dies before its first example exits too."""

  def worker_start(self) -> None:
    worker_guard.guard_worker()


class TrainTransform(_GuardedInWorkers, grain.RandomMapTransform):
  """grain wrapper of `train_example`; grain seeds `rng` per record, so order and
  augmentation are reproducible and resumable."""

  def __init__(self, config: ml_collections.ConfigDict):
    self._spec = ExampleSpec.from_config(config)

  def random_map(self, element: dict, rng: np.random.Generator) -> dict:
    worker_guard.guard_worker()
    try:
      return train_example(element, rng, self._spec)
    except ValueError as e:
      _log.warning("skipping training example %s: %s", _name(element), e)
      return self._spec.codec.empty_example()


class EvalTransform(_GuardedInWorkers, grain.MapTransform):
  """grain wrapper of `eval_example` (invalid records become `valid=False` padding)."""

  def __init__(self, config: ml_collections.ConfigDict):
    self._spec = ExampleSpec.from_config(config)

  def map(self, element: dict) -> dict:
    worker_guard.guard_worker()
    try:
      return eval_example(element, self._spec)
    except ValueError as e:
      _log.warning("skipping evaluation example %s: %s", _name(element), e)
      return _empty_eval(self._spec)
