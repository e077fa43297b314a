"""ONNX export: the model run in onnxruntime gives the predictor's keypoints and scores, for a
quickstart-architecture checkpoint (through the CLI) and an imported PyTorch hourglass; a
model onnxruntime cannot run is a clear error that writes nothing."""

import contextlib
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime", reason="the export extra is not installed "
                          "(pip install -e '.[export]')")
pytest.importorskip("jax2onnx", reason="the export extra is not installed")

import jax  # noqa: E402

from msposejax.config_files import load_config  # noqa: E402
from msposejax.data.features import decode_image  # noqa: E402
from msposejax.inference import onnx_export  # noqa: E402
from msposejax.inference.predictor import Predictor  # noqa: E402
from msposejax.models import pose_net_from_config  # noqa: E402
from msposejax.state import checkpointing  # noqa: E402
from msposejax.state.variables import init_variables  # noqa: E402
from tests.conftest import REPO  # noqa: E402

SAMPLE = REPO / "tests" / "fixtures" / "mpii_sample"
# jax2onnx 0.12.5 (the export extra) reads JAX 0.10 programs only; newer JAX is a clear error
# up front (onnx_export.converter_problem, tested below); the parity tests need JAX 0.10.
CONVERTER_PROBLEM = onnx_export.converter_problem()
needs_converter = pytest.mark.skipif(CONVERTER_PROBLEM is not None,
                                     reason=str(CONVERTER_PROBLEM))


def _crops(predictor):
  """Crops of real MPII photos as Predictor makes them: (5, H, W, 3) uint8."""
  photos = [decode_image(p.read_bytes()) for p in sorted(SAMPLE.glob("*.jpg"))]
  return np.stack([predictor.crop(photo)[0] for photo in photos])


def _weights_only_checkpoint(config, path, seed=0):
  variables = init_variables(pose_net_from_config(config.model), config.input_size, seed)
  with checkpointing.Checkpointer(path, config) as ckpt:
    ckpt.save_variables(variables, step=7)


def _same_as_predictor(model_path, predictor):
  session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
  assert [i.name for i in session.get_inputs()] == ["images"]
  assert session.get_inputs()[0].shape[0] == "B"  # any batch size
  crops = _crops(predictor)
  for batch in (crops[:1], crops):
    keypoints, scores = session.run(["keypoints", "scores"], {"images": batch})
    want_keypoints, want_scores = predictor.predict_crops(batch)
    np.testing.assert_allclose(keypoints, want_keypoints, atol=1e-3, rtol=0)
    np.testing.assert_allclose(scores, want_scores, atol=1e-4, rtol=0)


@needs_converter
def test_quickstart_checkpoint_exports_through_the_cli(tmp_path):
  config = load_config(REPO / "configs" / "quickstart.py")
  _weights_only_checkpoint(config, tmp_path / "ckpt")
  out = tmp_path / "exported"
  proc = subprocess.run([sys.executable, "-m", "msposejax.main", "export", "--checkpoint",
                         str(tmp_path / "ckpt"), "--format", "onnx", "--out", str(out)],
                        capture_output=True, text=True, cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-3000:]
  # Quiet on success: the result, not orbax's read-only notes or the serialiser's ~35 lines.
  assert proc.stdout.strip() == f"wrote {out}" and proc.stderr.strip() == "", proc.stderr
  meta = json.loads((out / "metadata.json").read_text())
  assert meta["format"] == "onnx" and meta["input_size"] == 128 and meta["step"] == 7
  assert meta["check_on_export"]["max_score_diff"] <= 1e-4
  _same_as_predictor(out / "model.onnx", Predictor.from_checkpoint(tmp_path / "ckpt"))


@needs_converter
def test_imported_pytorch_hourglass_exports(tmp_path):
  torch = pytest.importorskip("torch", reason="PyTorch is not installed")
  from msposejax.interop import torch_reference
  from msposejax.interop.torch_import import import_torch
  config = load_config(REPO / "configs" / "hourglass2.py")
  with config.unlocked():
    config.input_size = 64
    config.model.update(num_stacks=2, features=32, depth=2, stem_features=(16, 32))
  torch.manual_seed(1)
  net = torch_reference.from_config(config.model)
  torch_reference.randomize_batch_norm(net, torch.Generator().manual_seed(1))
  torch.save(net.state_dict(), tmp_path / "model.pt")
  import_torch(tmp_path / "model.pt", config, tmp_path / "imported")
  predictor = Predictor.from_checkpoint(tmp_path / "imported")
  onnx_export.export_onnx(predictor, tmp_path / "exported")
  _same_as_predictor(tmp_path / "exported" / "model.onnx", predictor)
  _deploy_doc_snippet_runs(tmp_path, predictor)


def _deploy_doc_snippet_runs(tmp_path, predictor):
  """docs/deploy.md's onnxruntime-only code, run as written next to an export and a real
  photo, gives the predictor's keypoints in image pixels."""
  text = (REPO / "docs" / "deploy.md").read_text()
  code = text.split("```python\n", 1)[1].split("```", 1)[0]
  shutil.copy(sorted(SAMPLE.glob("*.jpg"))[0], tmp_path / "person.jpg")
  namespace = {}
  with contextlib.chdir(tmp_path), contextlib.redirect_stdout(io.StringIO()):
    exec(compile(code, "docs/deploy.md", "exec"), namespace)
  photo = decode_image((tmp_path / "person.jpg").read_bytes())
  want = predictor(photo, box=(120, 40, 380, 620))
  np.testing.assert_allclose(namespace["keypoints"], want["keypoints"], atol=1e-2, rtol=0)
  np.testing.assert_allclose(namespace["scores"], want["scores"], atol=1e-4, rtol=0)


@needs_converter
def test_a_model_the_export_cannot_take_is_a_clear_error(tmp_path):
  config = load_config(REPO / "configs" / "tiny.py")
  # bfloat16 compute: the converter's max pool and onnxruntime's CPU convolutions take none.
  with config.unlocked():
    config.model.update(dtype="bfloat16", num_stacks=1, depth=1, features=16, mss=False,
                        msr=False)
    config.input_size = 32
  _weights_only_checkpoint(config, tmp_path / "ckpt")
  predictor = Predictor.from_checkpoint(tmp_path / "ckpt")
  with pytest.raises(onnx_export.OnnxExportError, match="cannot (convert|run) .*bfloat16"):
    onnx_export.export_onnx(predictor, tmp_path / "exported")
  assert not (tmp_path / "exported").exists()


@pytest.mark.skipif(CONVERTER_PROBLEM is None, reason="jax2onnx converts this JAX")
def test_a_jax_the_converter_cannot_read_is_a_clear_error(tmp_path):
  config = load_config(REPO / "configs" / "tiny.py")
  _weights_only_checkpoint(config, tmp_path / "ckpt")
  predictor = Predictor.from_checkpoint(tmp_path / "ckpt")
  with pytest.raises(onnx_export.OnnxExportError,
                     match=f"cannot convert JAX {jax.__version__} programs .*stablehlo"):
    onnx_export.export_onnx(predictor, tmp_path / "exported")
  assert not (tmp_path / "exported").exists()


@pytest.mark.parametrize("jax_version,converter,problem", [
    ("0.10.2", "0.12.5", None),
    ("0.11.2", "0.12.5", "jax2onnx 0.12.5 cannot convert JAX 0.11.2 programs (jax2onnx >= "
                         "0.17.0 reads them but requires orbax-checkpoint < 0.11.37)"),
    ("0.11.2", "0.16.1", "jax2onnx 0.16.1 cannot convert JAX 0.11.2 programs"),
    ("0.11.2", "0.17.0", None),
    ("0.12.1", "0.17.1", "jax2onnx 0.17.1 cannot convert JAX 0.12.1 programs (no jax2onnx "
                         "release reads them yet)"),
])
def test_the_versions_limit_is_one_line_naming_both(monkeypatch, jax_version, converter,
                                                    problem):
  # The table of onnx_export (measured on Python 3.12: JAX 0.11.2 with jax2onnx 0.12.5 …
  # 0.16.1 fails inside the converter, with 0.17.0 and 0.17.1 converts and checks; JAX 0.12.1
  # with 0.17.1 fails), applied to the version pairs.
  monkeypatch.setattr(jax, "__version__", jax_version)
  real_version = onnx_export.package_metadata.version
  monkeypatch.setattr(onnx_export.package_metadata, "version",
                      lambda name: converter if name == "jax2onnx" else real_version(name))
  got = onnx_export.converter_problem()
  if problem is None:
    assert got is None
  else:
    assert got.startswith(problem) and got.endswith("or use --format stablehlo")
    assert "\n" not in got


@needs_converter
def test_non_square_export_is_the_folded_nchw_network(tmp_path):
  """A 64×48 model: onnxruntime gives the predictor's keypoints, and the graph is what makes
  it fast: every convolution an NCHW Conv (BatchNorm folded: one Conv per kernel, one per
  Residual's pre-activation BN, one for the flip test's joint swap), no Einsum, no Transpose
  next to a Conv, 2-D MaxPool and nearest Resize."""
  onnx = pytest.importorskip("onnx")
  config = load_config(REPO / "configs" / "tiny.py")
  with config.ignore_type():
    config.input_size = (64, 48)
  with config.unlocked():
    config.model.update(num_stacks=1, features=16, stem_features=(8, 16))
  _weights_only_checkpoint(config, tmp_path / "ckpt")
  predictor = Predictor.from_checkpoint(tmp_path / "ckpt")
  onnx_export.export_onnx(predictor, tmp_path / "exported")
  session = ort.InferenceSession(str(tmp_path / "exported" / "model.onnx"),
                                 providers=["CPUExecutionProvider"])
  crops = np.random.default_rng(0).integers(0, 256, (3, 64, 48, 3), dtype=np.uint8)
  keypoints, scores = session.run(["keypoints", "scores"], {"images": crops})
  want_keypoints, want_scores = predictor.predict_crops(crops)
  assert keypoints.shape == (3, 16, 2)
  np.testing.assert_allclose(scores, want_scores, atol=1e-4 * max(1, np.abs(want_scores).max()))
  np.testing.assert_allclose(keypoints, want_keypoints, atol=1e-3)
  graph = onnx.load(str(tmp_path / "exported" / "model.onnx")).graph
  ops = [n.op_type for n in graph.node]
  leaves = jax.tree_util.tree_leaves_with_path(predictor.variables["params"])
  kernels = sum(1 for path, _ in leaves if path[-1].key == "kernel")
  pre_activation_bns = sum(1 for path, _ in leaves if path[-2].key == "bn1"
                           and path[-1].key == "scale")
  assert ops.count("Conv") == kernels + pre_activation_bns + 1
  assert "Einsum" not in ops and "BatchNormalization" not in ops
  m = config.model   # a pool and an upsampling per hourglass level; one pool in the stem
  hourglasses = m.num_stacks + int(m.msr)
  assert ops.count("MaxPool") == 1 + m.depth * hourglasses
  assert ops.count("Resize") == m.depth * hourglasses and "ConvTranspose" not in ops
  producer = {o: n.op_type for n in graph.node for o in n.output}
  for node in graph.node:
    if node.op_type == "Conv":
      assert producer.get(node.input[0]) != "Transpose"
    if node.op_type == "Transpose":
      assert producer.get(node.input[0]) != "Conv"
