"""Serialized inference function (jax.export / StableHLO) that runs without our model code.

`export_predictor` writes OUT/model.jaxexport (crops (B, H, W, 3) uint8, any B → keypoints in
crop pixels (B, K, 2) and scores (B, K), weights baked in) and OUT/metadata.json. `load`
returns a callable using only `jax`.
"""

from __future__ import annotations

import json
import pathlib
from typing import Callable

import jax
import jax.numpy as jnp

from msposejax.inference.predictor import Predictor


def export_predictor(predictor: Predictor, out: str) -> pathlib.Path:
  """Writes OUT/model.jaxexport and OUT/metadata.json; returns OUT."""
  out_dir = pathlib.Path(out)
  out_dir.mkdir(parents=True, exist_ok=True)
  h, w = predictor.input_hw
  variables = predictor.variables
  fn = jax.jit(lambda images: predictor.predict_step(variables, images))
  (batch,) = jax.export.symbolic_shape("b")
  exported = jax.export.export(fn)(jax.ShapeDtypeStruct((batch, h, w, 3), jnp.uint8))
  (out_dir / "model.jaxexport").write_bytes(exported.serialize())
  meta = metadata(predictor, "stablehlo")
  (out_dir / "metadata.json").write_text(json.dumps(meta, indent=1))
  return out_dir


def metadata(predictor: Predictor, fmt: str) -> dict:
  """What a user of an exported model needs besides the model: crop size, joints, decoding.

  "input_size" is n for square n×n crops (as before), else [H, W]."""
  size = predictor.input_size
  crops = "(B, n, n, 3)" if isinstance(size, int) else f"(B, {size[0]}, {size[1]}, 3)"
  return {"format": fmt, "input_size": size if isinstance(size, int) else list(size),
          "skeleton": predictor.skeleton.name, "joint_names": list(predictor.joint_names()),
          "flip_test": bool(predictor.config.decode.flip_test),
          "decode": predictor.config.decode.method, "step": predictor.step,
          "scale_factor": float(predictor.config.data.scale_factor),
          "input": f"uint8 RGB crops {crops} of one person each",
          "outputs": "keypoints (B, K, 2) in crop pixels (x, y), scores (B, K)"}


def load(path: str) -> Callable:
  """The exported function: images uint8 (B, H, W, 3) → (keypoints, scores)."""
  exported = jax.export.deserialize(bytearray((pathlib.Path(path) / "model.jaxexport").read_bytes()))
  return exported.call
