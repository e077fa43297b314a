"""The inference function as one ONNX model, checked in onnxruntime before it is written.

    msposejax export --checkpoint runs/quickstart --format onnx --out exported/

writes OUT/model.onnx and OUT/metadata.json. The model is `Predictor.predict_step` with the
weights baked in: normalisation, network, flip test and decoding, any batch size.
  input  "images":    uint8 (B, H, W, 3) RGB crops, as `Predictor.crop` makes them;
  output "keypoints": float32 (B, K, 2) (x, y) in crop pixels;
  output "scores":    float32 (B, K), each joint's heatmap maximum.
docs/deploy.md runs it with onnxruntime alone.

The network inside is `folded_network`'s: BatchNorm folded into the convolutions, every
convolution (1×1 included) an NCHW Conv, no layout Transpose between layers; the crops are
transposed once on the way in and the heatmaps once on the way out. onnxruntime runs that
graph faster than the converted Flax model, whose NHWC convolutions each came with two
Transposes and whose 1×1 convolutions were Einsums (docs/benchmarks.md).

The converter is jax2onnx (jaxpr → ONNX, no TensorFlow; docs/deploy.md says why), in the
`export` extra: pip install 'msposejax[export]'.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import pathlib
from importlib import metadata as package_metadata

import jax
import jax.numpy as jnp
import numpy as np

from msposejax.inference.export import metadata
from msposejax.inference.folded_network import deploy_predict_fn
from msposejax.inference.predictor import Predictor
from msposejax.input_size import input_hw

# ONNX opset 18 (onnxruntime ≥ 1.14, 2023) rather than the converter's default 23, so that
# older runtimes load it; 17 fails (the converter writes ReduceMax with axes as an input, an
# opset-18 form; measured).
OPSET = 18
# On export both runtimes predict a fixed batch; scores are heatmap maxima, continuous in the
# weights, so a gap above this (relative to the largest score, or absolute below 1) is a
# conversion error, never rounding (the random 8-stack hourglass: scores up to 2,836 and a
# gap of 0.008, 3e-6 relative).
SCORE_TOLERANCE = 1e-3
INPUT_NAME, OUTPUT_NAMES = "images", ("keypoints", "scores")


class OnnxExportError(ValueError):
  """The checkpoint's inference function cannot be written as a working ONNX model."""


def _require(module: str):
  try:
    return __import__(module)
  except ImportError:
    raise OnnxExportError(f"ONNX export needs {module}: pip install 'msposejax[export]'") \
        from None


def _converter() -> str:
  return f"jax2onnx {package_metadata.version('jax2onnx')}"


def _release(version: str) -> tuple[int, ...]:
  return tuple(int(p) for p in version.split("+")[0].split(".")[:3] if p.isdigit())


# The oldest jax2onnx that reads the programs of a JAX minor, measured (2026-12-06, the tiny
# model converted and checked in onnxruntime; JAX 0.11.2 and 0.12.1 on Python 3.12):
#   JAX 0.10: 0.12.5 and later;
#   JAX 0.11: JAX_0_11_CONVERTER and later; 0.12.5, 0.13.0, 0.13.1, 0.14.0, 0.15.1 and
#     0.16.1 (those tried) fail inside the converter
#     ("Var.__init__() takes 2 positional arguments but 4 were given");
#   JAX 0.12: JAX_0_12_CONVERTER (None: no release).
# Every jax2onnx from 0.13.1 requires orbax-checkpoint < 0.11.37, a downgrade of the
# checkpoint library we run (the `export` extra keeps to < 0.13, which leaves it alone).
JAX_0_11_CONVERTER: tuple[int, ...] | None = (0, 17, 0)
JAX_0_12_CONVERTER: tuple[int, ...] | None = None


def converter_problem() -> str | None:
  """None, or one line saying why the installed jax2onnx cannot convert this JAX's programs
  (both versions named), measured rather than discovered mid-conversion."""
  try:
    converter = package_metadata.version("jax2onnx")
  except package_metadata.PackageNotFoundError:
    return "ONNX export needs jax2onnx: pip install 'msposejax[export]'"
  jax_minor = _release(jax.__version__)[:2]
  needed = {(0, 11): JAX_0_11_CONVERTER, (0, 12): JAX_0_12_CONVERTER}.get(jax_minor, ())
  if needed == () or (needed is not None and _release(converter) >= needed):
    return None
  reads = ("no jax2onnx release reads them yet" if needed is None else
           f"jax2onnx >= {'.'.join(map(str, needed))} reads them but requires "
           "orbax-checkpoint < 0.11.37")
  return (f"jax2onnx {converter} cannot convert JAX {jax.__version__} programs ({reads}): "
          "export ONNX with JAX 0.10, or use --format stablehlo")


def _describe(predictor: Predictor) -> str:
  m = predictor.config.model
  return (f"{m.num_stacks} stacks, {m.features} channels, mss={m.mss}, msr={m.msr}, "
          f"dtype={m.dtype}, input {'x'.join(map(str, input_hw(predictor.config)))}")


def to_onnx_bytes(predictor: Predictor) -> bytes:
  """The serialised ONNX model (dynamic batch B) of `predictor.predict_step`.

  Raises:
    OnnxExportError: the converter is not installed or cannot express the function.
  """
  problem = converter_problem()
  if problem:
    raise OnnxExportError(problem)
  h, w = input_hw(predictor.config)
  spec = jax.ShapeDtypeStruct(jax.export.symbolic_shape(f"B, {h}, {w}, 3"), jnp.uint8)
  # jax2onnx 0.12 prints debug lines of its Conv plugin to stdout and warns about each optional
  # plugin (dm_pix, equinox) it cannot import: neither is for our console.
  quiet = logging.getLogger("jax2onnx")
  level = quiet.level
  quiet.setLevel(logging.ERROR)
  try:
    jax2onnx = _require("jax2onnx")
    with contextlib.redirect_stdout(io.StringIO()):
      proto = jax2onnx.to_onnx(deploy_predict_fn(predictor.variables, predictor.config), [spec],
                               model_name="msposejax", opset=OPSET,
                               input_names=[INPUT_NAME], output_names=list(OUTPUT_NAMES))
  except OnnxExportError:
    raise
  except Exception as e:  # the converter raises whatever its op plugins raise
    first = (str(e).strip().splitlines() or [""])[0][:300]
    raise OnnxExportError(
        f"{_converter()} cannot convert this checkpoint's "
        f"inference function ({_describe(predictor)}): {type(e).__name__}: {first}. "
        "The StableHLO export (--format stablehlo) takes every model.") from e
  finally:
    quiet.setLevel(level)
  # The converter annotates intermediate shapes it does not always get right (stale after the
  # rewrites below too); onnxruntime infers them itself.
  del proto.graph.value_info[:]
  from msposejax.inference import onnx_graph  # needs onnx, which the converter brings
  proto, _ = onnx_graph.simplify(proto)
  return proto.SerializeToString()


def check(model: bytes, predictor: Predictor, batch: int = 2, seed: int = 0) -> dict:
  """Runs the ONNX model in onnxruntime and the jitted predictor on the same random crops.

  Returns {"max_keypoint_diff_px", "max_score_diff", "max_score"}. Keypoints may differ by
  whole heatmap pixels where two heatmap values tie to rounding (random crops of an untrained
  model do); scores may not.

  Raises:
    OnnxExportError: onnxruntime cannot load or run the model, it answers in other shapes, or
      its scores differ from the predictor's by more than SCORE_TOLERANCE (relative).
  """
  ort = _require("onnxruntime")
  h, w = input_hw(predictor.config)
  crops = np.random.default_rng(seed).integers(0, 256, (batch, h, w, 3), dtype=np.uint8)
  try:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    keypoints, scores = session.run(list(OUTPUT_NAMES), {INPUT_NAME: crops})
  except Exception as e:  # onnxruntime's own exception types are not public
    raise OnnxExportError(f"onnxruntime {ort.__version__} cannot run the converted model "
                          f"({_describe(predictor)}): {str(e).strip()[:300]}") from e
  want_keypoints, want_scores = predictor.predict_crops(crops)
  if keypoints.shape != want_keypoints.shape or scores.shape != want_scores.shape:
    raise OnnxExportError(f"the ONNX model answers keypoints {keypoints.shape}, scores "
                          f"{scores.shape}; the predictor {want_keypoints.shape}, "
                          f"{want_scores.shape}")
  score_diff = float(np.abs(scores - want_scores).max())
  max_score = float(np.abs(want_scores).max())
  allowed = SCORE_TOLERANCE * max(1.0, max_score)
  if not score_diff <= allowed:
    raise OnnxExportError(f"the ONNX model's scores differ from the predictor's by "
                          f"{score_diff:.3g} (> {allowed:.3g}) on random crops: the "
                          f"conversion of ({_describe(predictor)}) is wrong")
  return {"max_keypoint_diff_px": float(np.abs(keypoints - want_keypoints).max()),
          "max_score_diff": score_diff, "max_score": max_score}


def export_onnx(predictor: Predictor, out: str) -> pathlib.Path:
  """Converts, checks in onnxruntime, then writes OUT/model.onnx and OUT/metadata.json.

  Nothing is written when the conversion or the check fails (OnnxExportError).
  """
  model = to_onnx_bytes(predictor)
  checked = check(model, predictor)
  out_dir = pathlib.Path(out)
  out_dir.mkdir(parents=True, exist_ok=True)
  (out_dir / "model.onnx").write_bytes(model)
  meta = metadata(predictor, "onnx")
  meta.update(opset=OPSET, converter=_converter(),
              input_name=INPUT_NAME, output_names=list(OUTPUT_NAMES), check_on_export=checked)
  (out_dir / "metadata.json").write_text(json.dumps(meta, indent=1))
  return out_dir
