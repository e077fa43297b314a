"""Restore a checkpoint anywhere and predict keypoints on photos (IO: reads checkpoints).

    predictor = Predictor.from_checkpoint("runs/quickstart")        # best step of a workdir
    result = predictor(image)                   # whole image as the person box
    result = predictor(image, box=(x1, y1, x2, y2))  # or center=(x, y), scale=s (MPII)
    result["keypoints"]  # (K, 2) in original image pixels; result["scores"]  # (K,)
    predictor.skeleton   # the skeleton it predicts (MPII 16 joints, LSP 14), from its config

The checkpoint's own config builds the model, so nothing but the path is needed: no configs/
folder, no training state, no mesh. Arrays are restored onto one local device.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import jax
import ml_collections
import numpy as np

from msposejax import skeleton
from msposejax.config_checks import check_same_model
from msposejax.data import geometry
from msposejax.input_size import input_hw
from msposejax.models import pose_net_from_config
from msposejax.inference.predict_step import make_predict_step
from msposejax.state import checkpointing
from msposejax.state.variables import abstract_variables

BATCH_SIZES = (1, 8, 32)  # people per jitted call are padded up to one of these


def person_box(image_shape: tuple[int, ...], box: Any, *, scale_factor: float,
               center_shift: float, aspect_wh: float = 1.0) -> tuple[np.ndarray, float]:
  """(center, crop height in px) of one person, by the training crop rule
  (`geometry.person_crop`, with the checkpoint's `data.scale_factor` and `data.center_shift`);
  the crop's width is its height × `aspect_wh`, the input's W/H (1 for square inputs).

  `box` is one of:
    {"center": (x, y), "scale": s}: MPII's convention (person height ≈ 200·s px), cropped
      exactly as in training and evaluation: height 200·s·scale_factor around the centre
      moved down by center_shift·s;
    (x1, y1, x2, y2): a box around the whole person, widened or heightened to the input's
      aspect and padded by scale_factor, centred in the box with no shift (its centre is the
      body's, unlike MPII's objpos): height = max(y2 − y1, (x2 − x1)/aspect_wh) ×
      scale_factor; top-down training's rule (`geometry.box_center_scale`), which for a
      square input is the longer side × scale_factor;
    None: the whole image is the person, the smallest crop of the input's aspect that holds
      it, centred on the image (height max(h, w/aspect_wh)).

  Raises:
    ValueError: a box that is not one of these (NaN, degenerate, 3 numbers), or a person
      entirely outside the image (its keypoints would be guesses in the padding).
  """
  h, w = image_shape[:2]
  if box is None:
    return np.array([(w - 1) / 2, (h - 1) / 2]), float(max(h, w / aspect_wh))
  if isinstance(box, dict):
    try:
      center = np.asarray(box["center"], np.float64).reshape(2)
      scale = float(box["scale"])
    except (KeyError, TypeError, ValueError):
      center, scale = None, float("nan")
    if set(box) != {"center", "scale"} or center is None or not np.isfinite(center).all() \
        or not (np.isfinite(scale) and scale > 0):
      raise ValueError(f"person {box} must be {{'center': (x, y), 'scale': s > 0}}")
    # The person's extent: height ≈ 200·s around the centre.
    x1, y1, x2, y2 = (*(center - 100 * scale), *(center + 100 * scale))
    center, side = geometry.person_crop(center, scale, scale_factor, center_shift)
  else:
    try:
      x1, y1, x2, y2 = (float(v) for v in box)
    except (TypeError, ValueError):
      raise ValueError(f"person box {box} must be 4 numbers (x1, y1, x2, y2)") from None
    if not (np.isfinite([x1, y1, x2, y2]).all() and x2 > x1 and y2 > y1):
      raise ValueError(f"person box {box} must be (x1, y1, x2, y2) with x2 > x1 and y2 > y1")
    # (x2 − x1)/1.0 is x2 − x1 exactly: square inputs keep their crops to the bit.
    center, side = geometry.person_crop(((x1 + x2) / 2, (y1 + y2) / 2),
                                        max((x2 - x1) / aspect_wh, y2 - y1) / 200.0,
                                        scale_factor)
  # Pixel i covers [i − ½, i + ½): the image spans [−½, w − ½) × [−½, h − ½).
  if x2 <= -0.5 or y2 <= -0.5 or x1 >= w - 0.5 or y1 >= h - 0.5:
    raise ValueError(f"person {box} lies entirely outside the {w}×{h} image")
  return center, side


class Predictor:
  """Keypoints in original image coordinates, batched and jitted, flip test by default."""

  def __init__(self, config: ml_collections.ConfigDict, variables: dict[str, Any],
               step: int | None = None, flip_test: bool | None = None):
    self.config = ml_collections.ConfigDict(config.to_dict())
    if flip_test is not None:
      self.config.decode.flip_test = bool(flip_test)
    self.step = step
    self.variables = variables
    self.skeleton = skeleton.from_config(self.config)
    model = pose_net_from_config(self.config.model)
    # predict_step(variables, crops uint8 (B, H, W, 3)) → (keypoints (B, K, 2) in crop px,
    # scores (B, K)): what `export` serialises.
    self.predict_step = make_predict_step(model, self.config)
    self._predict = jax.jit(self.predict_step)

  @classmethod
  def from_checkpoint(cls, path: str | os.PathLike, flip_test: bool | None = None,
                      step: int | None = None,
                      config: ml_collections.ConfigDict | None = None) -> "Predictor":
    """Restores a training workdir (its best step, else latest) or one step's directory.

    `config`: predict with it (flip test, decoding, `video.*`, the crop margin) instead of the
    checkpoint's own saved config; it must describe the checkpoint's model (ValueError naming
    each field that differs)."""
    workdir, found = checkpointing.resolve(path)
    step = found if step is None else step
    with checkpointing.Checkpointer(workdir, read_only=True) as ckpt:
      return cls._restore(ckpt, workdir, step, flip_test, config)

  @classmethod
  def _restore(cls, ckpt, workdir, step: int, flip_test: bool | None,
               given: ml_collections.ConfigDict | None = None) -> "Predictor":
    config = ckpt.saved_config(step)
    if given is not None:
      check_same_model(config, given, f"{workdir} step {step}", "give --config of the "
                       "checkpoint's model, or none (the checkpoint's own config)")
      config = given
    try:
      model = pose_net_from_config(config.model)
      device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
      abstract = abstract_variables(model, config.input_size, device)
    except (AttributeError, KeyError, ValueError) as e:
      reason = " ".join(str(e.args[0] if e.args else e).strip("'\"").split())
      raise ValueError(f"checkpoint {workdir} step {step} has a config this msposejax cannot "
                       f"build a model from: {reason}") from None
    try:  # the weights only: no optimizer state is read, whatever the checkpoint holds
      variables = ckpt.restore_variables(step, abstract)
    except checkpointing.DamagedCheckpointError:
      raise
    except (ValueError, KeyError) as e:
      raise ValueError(f"checkpoint {workdir} step {step} does not match the model its config "
                       f"describes: {e}") from e
    return cls(config, variables, step=step, flip_test=flip_test)

  @property
  def input_size(self) -> int | tuple[int, int]:
    """n of square n×n crops, else (H, W)."""
    h, w = self.input_hw
    return h if h == w else (h, w)

  @property
  def input_hw(self) -> tuple[int, int]:
    """(H, W) of the network's input crops."""
    return input_hw(self.config)

  def crop(self, image: np.ndarray, box=None) -> tuple[np.ndarray, np.ndarray]:
    """(H×W×3 uint8 crop, 3×3 matrix crop → image) for one person (`person_box`)."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
      raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {image.shape} {image.dtype}")
    h, w = self.input_hw
    center, side = person_box(image.shape, box, scale_factor=self.config.data.scale_factor,
                              center_shift=self.config.data.center_shift, aspect_wh=w / h)
    m = geometry.crop_matrix(center, side, (h, w))
    return geometry.warp_image(image, m, (h, w)), np.linalg.inv(m)

  def predict_crops(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints (B, K, 2) in crop pixels and scores (B, K) of uint8 crops (B, H, W, 3), as
    `crop` makes them, in one jitted call (one compilation per batch size)."""
    return jax.device_get(self._predict(self.variables, np.asarray(crops, np.uint8)))

  def predict(self, images: Sequence[np.ndarray], boxes: Sequence[Any] | None = None
              ) -> list[dict[str, np.ndarray]]:
    """One result per (image, box) pair, computed in as few jitted calls as possible.

    Returns [{"keypoints": (K, 2) image px, "scores": (K,)}, ...].
    """
    boxes = [None] * len(images) if boxes is None else list(boxes)
    if len(boxes) != len(images):
      raise ValueError(f"{len(images)} images but {len(boxes)} boxes")
    crops, inverses = zip(*(self.crop(im, b) for im, b in zip(images, boxes))) if images else ((), ())
    results = []
    start = 0
    while start < len(crops):
      chunk = list(crops[start:start + BATCH_SIZES[-1]])
      size = next(b for b in BATCH_SIZES if b >= len(chunk))
      batch = np.zeros((size,) + chunk[0].shape, np.uint8)
      batch[:len(chunk)] = chunk
      coords, scores = jax.device_get(self._predict(self.variables, batch))
      for i in range(len(chunk)):
        inv = inverses[start + i]
        results.append({"keypoints": geometry.apply_affine(inv, coords[i]).astype(np.float32),
                        "scores": scores[i].astype(np.float32)})
      start += len(chunk)
    return results

  def __call__(self, image: np.ndarray, box=None, center=None, scale=None
               ) -> dict[str, np.ndarray]:
    """One person: a box (x1, y1, x2, y2), or center (x, y) + scale, or neither."""
    if center is not None or scale is not None:
      if box is not None or center is None or scale is None:
        raise ValueError("give either box, or center and scale together")
      box = {"center": center, "scale": scale}
    return self.predict([image], [box])[0]

  def joint_names(self) -> tuple[str, ...]:
    return self.skeleton.joint_names
