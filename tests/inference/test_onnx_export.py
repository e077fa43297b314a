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
# No jax2onnx release (0.12.5 … 0.17.1, checked 2026-12-02) converts JAX 0.12 programs: it
# reaches jax._src.core.ClosedJaxpr, which JAX 0.12 removed. There the export must be a clear
# error (tested below); the parity tests need an older JAX.
JAX_WITHOUT_CONVERTER = tuple(int(p) for p in jax.__version__.split(".")[:2]) >= (0, 12)
needs_converter = pytest.mark.skipif(JAX_WITHOUT_CONVERTER, reason=f"jax2onnx cannot convert "
                                     f"JAX {jax.__version__} programs yet")


def _crops(predictor):
  """Crops of real MPII photos as Predictor makes them: (5, n, n, 3) uint8."""
  photos = [decode_image(p.read_bytes()) for p in sorted(SAMPLE.glob("*.jpg"))]
  return np.stack([predictor.crop(photo)[0] for photo in photos])


def _weights_only_checkpoint(config, path, seed=0):
  variables = init_variables(pose_net_from_config(config.model), config.input_size, seed)
  with checkpointing.manager(path, config) as mngr:
    checkpointing.save_variables(mngr, variables, config, step=7)
    mngr.wait_until_finished()


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
def test_a_model_onnxruntime_cannot_run_is_a_clear_error(tmp_path):
  config = load_config(REPO / "configs" / "tiny.py")
  with config.unlocked():   # bfloat16 compute: onnxruntime's CPU convolutions take no bf16
    config.model.update(dtype="bfloat16", num_stacks=1, depth=1, features=16, mss=False,
                        msr=False)
    config.input_size = 32
  _weights_only_checkpoint(config, tmp_path / "ckpt")
  predictor = Predictor.from_checkpoint(tmp_path / "ckpt")
  with pytest.raises(onnx_export.OnnxExportError, match="onnxruntime .* cannot run .*bfloat16"):
    onnx_export.export_onnx(predictor, tmp_path / "exported")
  assert not (tmp_path / "exported").exists()


@pytest.mark.skipif(not JAX_WITHOUT_CONVERTER, reason="jax2onnx converts this JAX")
def test_a_jax_the_converter_cannot_read_is_a_clear_error(tmp_path):
  config = load_config(REPO / "configs" / "tiny.py")
  _weights_only_checkpoint(config, tmp_path / "ckpt")
  predictor = Predictor.from_checkpoint(tmp_path / "ckpt")
  with pytest.raises(onnx_export.OnnxExportError, match="cannot convert .*StableHLO export"):
    onnx_export.export_onnx(predictor, tmp_path / "exported")
  assert not (tmp_path / "exported").exists()
