"""The skeleton follows the dataset end to end: train a tiny model on a handful of real
LSP-extended photos, evaluate PCK@0.2 (torso), restore it and predict 14 LSP joints."""

import json

import numpy as np
import pytest

from msposejax import skeleton
from msposejax.config_files import load_config
from msposejax.data.features import decode_image
from msposejax.inference.predict_files import predict_files
from msposejax.inference.predictor import Predictor
from msposejax.training.loop import train
from tests.conftest import LSPET, REPO, lspet_manual_dir

# Module-scoped fixtures: its tests stay in one xdist test process (`-n auto --dist loadgroup`).
pytestmark = pytest.mark.xdist_group("lsp_training")


def lsp_tiny(root, manual):
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "lsp/extended"
    cfg.model.num_joints = 14
    cfg.model.num_stacks = 1      # the loop and the skeleton are under test, not the network
    cfg.data.manual_dir = str(manual)
    cfg.data.tfds_data_dir = str(root / "tfds")
    cfg.data.worker_count = 0
    cfg.batch_size = 8            # divisible by the 8 fake test devices
    cfg.eval_batch_size = 8
    cfg.total_steps = 2
    cfg.log_every = 1
    cfg.num_visualize = 2
  return cfg


@pytest.fixture(scope="module")
def run(tmp_path_factory):
  root = tmp_path_factory.mktemp("lsp_run")
  manual = lspet_manual_dir(root, range(1, 41))   # 36 train, 4 validation people
  final = train(lsp_tiny(root, manual), root / "work")   # prepares the data on first use
  return root / "work", final


def test_training_reports_the_lsp_metric(run):
  workdir, final = run
  assert final["metric"] == "PCK" and final["skeleton"] == "lsp"
  assert {"pck@0.2", "pck@0.1", "pck@0.05"} <= set(final)
  assert "pckh@0.5" not in final
  res = final["pck@0.2"]
  assert set(res["part"]) == {"Head", "Shoulder", "Elbow", "Wrist", "Hip", "Knee", "Ankle"}
  assert res["joint"].keys() == set(skeleton.LSP.joint_names)
  # Validation images 10, 20, 30, 40: people without l_shoulder + r_hip are counted apart.
  assert final["num_people"] + final["num_without_normaliser"] == 4
  assert json.loads((workdir / "final_metrics.json").read_text())["metric"] == "PCK"


def test_checkpoint_says_which_skeleton_it_predicts(run, tmp_path):
  workdir, _ = run
  predictor = Predictor.from_checkpoint(workdir)
  assert predictor.skeleton is skeleton.LSP
  assert predictor.joint_names() == skeleton.LSP.joint_names
  image = decode_image((LSPET / "images" / "im00001.jpg").read_bytes())
  result = predictor(image)
  assert result["keypoints"].shape == (14, 2) and result["scores"].shape == (14,)
  out = predict_files(predictor, [str(LSPET / "images" / "im00001.jpg")], str(tmp_path))
  assert out["skeleton"] == "lsp" and len(out["joint_names"]) == 14
  assert np.asarray(out["images"]["im00001.jpg"][0]["keypoints"]).shape == (14, 2)
  with pytest.raises(ValueError, match="MPII's 16 joints.*lsp skeleton"):
    predict_files(predictor, [str(LSPET / "images" / "im00001.jpg")], str(tmp_path),
                  submission=str(tmp_path / "sub.mat"))
