"""`msposejax data show`: a PNG grid of what the network sees (IO: reads data, writes a PNG)."""

from __future__ import annotations

import pathlib

import ml_collections
import numpy as np
from PIL import Image, ImageDraw

from msposejax import skeleton
from msposejax.data import geometry, pipeline, transforms
from msposejax.draw import draw_skeleton, grid


def render(config: ml_collections.ConfigDict, split: str, num: int, seed: int = 0) -> np.ndarray:
  """Crops of the first `num` examples of a split: augmented and masked (train) or plain
  (other splits), with their keypoints and skeleton; mask patches outlined (yellow: occluder
  pasted over a keypoint, magenta: distractor pasted on background)."""
  source = pipeline.open_source(config, split)
  spec = transforms.ExampleSpec.from_config(config)
  tiles = []
  for i in range(min(num, len(source))):
    record = source[i]
    if split == config.data.train_split:
      ex = transforms.train_example(record, np.random.default_rng([seed, i]), spec, debug=True)
      joints, ops = ex["joints"], ex["mask_ops"]
    else:
      ex = transforms.eval_example(record, spec)
      joints = np.asarray(geometry.apply_affine(np.linalg.inv(ex["crop_to_stored"]),
                                                           record["joints"]))
      ops = []
    visible = ex["weights"] > 0
    tile = draw_skeleton(ex["image"], np.where(visible[:, None], joints, np.nan),
                         skel=skeleton.from_config(config))
    img = Image.fromarray(tile)
    draw = ImageDraw.Draw(img)
    for op in ops:
      draw.rectangle(op.dst, outline=(255, 230, 0) if op.kind == "occlude" else (255, 0, 255))
    tiles.append(np.asarray(img))
  return grid(tiles, columns=min(4, len(tiles)))


def save(config: ml_collections.ConfigDict, split: str, num: int, out: str) -> pathlib.Path:
  path = pathlib.Path(out)
  path.parent.mkdir(parents=True, exist_ok=True)
  Image.fromarray(render(config, split, num)).save(path)
  return path
