"""An evaluation oracle: ground-truth joints encoded to heatmaps, run through the real
evaluation (eval loader → predict step with its decoding and flip test → crop-to-image
mapping → the metric report), must score ~100%, and known shifts must give known drops.

The "model" is an oracle that returns, for each crop the predict step hands it, the target
heatmaps of that crop's ground truth (and for a mirrored crop the mirrored, left/right swapped
ones, as a perfect model would). Expected numbers are computed here by hand from joints and
normalisers written in this file: head boxes for MPII (PCKh, h = 0.6 × diagonal), the torso
‖l_shoulder − r_hip‖ for LSP (PCK). MPII: the five real photos of tests/fixtures/mpii_sample
with head boxes added; LSP: a joints.mat written here with noise images (no real data needed).
"""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.io
from PIL import Image

from msposejax import skeleton
from msposejax.codecs.flip import flip_heatmaps
from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.data import geometry, pipeline
from msposejax.evaluation.report import pckh_report
from msposejax.inference.predict_step import make_predict_step
from msposejax.training import evaluator, sharding
from tests.conftest import REPO, load_config

SAMPLE = REPO / "tests" / "fixtures" / "mpii_sample"
pytestmark = pytest.mark.xdist_group("eval_oracle")


class Oracle:
  """Stands in for PoseNet: `apply(variables, images)["final"]` is the ground truth's
  full-resolution target of each crop it was shown (mirrored crops: the mirrored, swapped
  target), zeros for a crop it was never shown (padding)."""

  def __init__(self, codec, pairs):
    self.codec, self.pairs, self.maps = codec, pairs, {}

  @staticmethod
  def key(image_float) -> bytes:
    return np.round(np.asarray(image_float, np.float64) * 255).astype(np.uint8).tobytes()

  def learn(self, crop_uint8, crop_xy, visible):
    targets, _ = self.codec.encode(crop_xy, visible)
    full = targets[self.codec.full_resolution]
    self.maps[crop_uint8.tobytes()] = full
    self.maps[crop_uint8[:, ::-1].tobytes()] = np.asarray(flip_heatmaps(full[None], self.pairs))[0]

  def apply(self, variables, images, train=False):
    r = self.codec.full_resolution
    zeros = np.zeros((r, r, self.codec.num_joints), np.float32)
    return {"final": jnp.asarray(np.stack([self.maps.get(self.key(im), zeros)
                                           for im in np.asarray(images)]))}


def oracle_results(config, who, shift=lambda person: np.zeros(2)):
  """(the evaluation's results with the oracle, the person of each valid example in order,
  its zoom: stored px per original image px). `who(joints)` names the person from its joints
  in original-image px; `shift(person)` is the offset (x, y) of its predicted joints in
  original-image px (zeros: a perfect model)."""
  skel = skeleton.from_config(config)
  oracle = Oracle(MultiScaleCodec.from_config(config), skel.flip_pairs)
  source = pipeline.open_source(config, config.data.eval_split)
  people, zooms = [], []
  for batch in pipeline.eval_loader(config, source=source):
    for b in np.flatnonzero(batch["valid"]):
      zooms.append(float(batch["zoom"][b]))
      vis = batch["visible"][b]
      people.append(who(batch["joints"][b][vis] / zooms[-1] + batch["offset"][b], vis))
      target = batch["joints"][b] + shift(people[-1]) * zooms[-1]
      crop_xy = geometry.apply_affine(np.linalg.inv(batch["crop_to_stored"][b]), target)
      oracle.learn(batch["image"][b], crop_xy, batch["visible"][b])
  mesh = sharding.make_mesh(config, jax.devices()[:1])
  predict = make_predict_step(oracle, config)
  results = evaluator.predict_split(predict, {}, config, mesh,
                                    pipeline.eval_loader(config, source=source), len(source))
  return results, people, np.array(zooms)


def headline(report, skel, t):
  return report[skeleton.metric_key(skel, t)]["mean"]


# ---- MPII: the five real photos, with head boxes written here (1-based, as in the files).
HEAD_BOXES = {  # x1, y1, x2, y2 per person, written here: the oracle needs known sizes only
    "005808361.jpg": (930, 80, 1030, 190), "052475643.jpg": (290, 90, 340, 150),
    "051423444.jpg": (990, 200, 1070, 290), "004645041.jpg": (780, 190, 850, 270),
    "060754485.jpg": (660, 200, 740, 290)}


def mpii_head_size(name):
  x1, y1, x2, y2 = HEAD_BOXES[name]
  return 0.6 * np.hypot(x2 - x1, y2 - y1)


@pytest.fixture(scope="module")
def mpii_config(tmp_path_factory):
  root = tmp_path_factory.mktemp("mpii_oracle")
  manual = root / "manual"
  (manual / "images").mkdir(parents=True)
  entries = json.loads((SAMPLE / "test_mpii.json").read_text())
  for e in entries:
    shutil.copy(SAMPLE / e["image"], manual / "images" / e["image"])
    e["head_box"] = list(HEAD_BOXES[e["image"]])
  (manual / "train.json").write_text(json.dumps(entries))
  (manual / "valid.json").write_text(json.dumps(entries))
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "mpii_human_pose"
    cfg.data.manual_dir = str(manual)
    cfg.data.tfds_data_dir = str(root / "tfds")
    cfg.data.worker_count = 0
    cfg.data.center_shift = 15.0
    cfg.input_size = 256
    cfg.eval_batch_size = 2  # 5 people: the last batch is padded
    cfg.decode.method = "parabola"
    cfg.decode.flip_test = True
  pipeline.prepare(cfg)
  people = {e["image"]: np.asarray(e["joints"], float) - 1.0 for e in entries}  # 0-based

  def who(joints, visible):
    """The photo whose labelled joints these are (original px)."""
    return min(people, key=lambda n: np.abs(people[n][visible] - joints).max())
  return cfg, who


def test_mpii_ground_truth_through_the_evaluation_scores_100(mpii_config):
  cfg, who = mpii_config
  results, names, zoom = oracle_results(cfg, who)
  report = pckh_report(results, skeleton.MPII)
  assert sorted(names) == sorted(HEAD_BOXES) and report["num_people"] == 5
  for t in skeleton.MPII.thresholds:
    assert headline(report, skeleton.MPII, t) >= 0.999, t
  # The normaliser is the head size by hand, in stored-image pixels (each person's zoom).
  np.testing.assert_allclose(results["normaliser"][results["valid"]] / zoom,
                             [mpii_head_size(n) for n in names], rtol=1e-4)


def test_mpii_known_shifts_give_known_drops(mpii_config):
  cfg, who = mpii_config
  # Joints moved right by f · h (h by hand, original px): three people at 0.45 h (correct at
  # PCKh@0.5, not @0.2), two at 0.7 h (wrong at every threshold).
  factors = dict(zip(sorted(HEAD_BOXES), [0.45, 0.7, 0.45, 0.7, 0.45]))
  shift = lambda name: np.array([factors[name] * mpii_head_size(name), 0.0])
  results, names, _ = oracle_results(cfg, who, shift)
  report = pckh_report(results, skeleton.MPII)
  counts = results["visible"][results["valid"]][:, list(skeleton.MPII.mean_joints)].sum(axis=1)
  near = np.array([factors[n] < 0.5 for n in names])
  assert headline(report, skeleton.MPII, 0.5) == pytest.approx(counts[near].sum() / counts.sum(),
                                                               abs=1e-9)
  assert headline(report, skeleton.MPII, 0.2) == 0.0


# ---- LSP: a joints.mat written here (LSP-extended layout (14, 3, N), 1-based, flag 1 =
# annotated) and noise photos; validation = images 10, 20, 30, 40.
LSP_PERSON = np.array([  # a standing person facing the camera, (x, y), LSP joint order
    [70, 230], [72, 180], [75, 130], [105, 130], [108, 180], [110, 230],  # legs, r then l
    [55, 125], [60, 95], [70, 65], [110, 65], [120, 95], [125, 125],      # arms, r then l
    [90, 55], [90, 20]], float)                                           # neck, head top


def lsp_joints(i):
  """Person of image i (0-based): the template moved and stretched, 0-based px."""
  return LSP_PERSON * (1.0 + 0.1 * (i % 3)) + [10.0 * (i % 5), 5.0 * (i % 4)]


def lsp_torso(i):
  j = skeleton.LSP.joint_index
  xy = lsp_joints(i)
  return np.linalg.norm(xy[j["l_shoulder"]] - xy[j["r_hip"]])


@pytest.fixture(scope="module")
def lsp_config(tmp_path_factory):
  root = tmp_path_factory.mktemp("lsp_oracle")
  manual = root / "manual"
  (manual / "images").mkdir(parents=True)
  n = 40
  raw = np.zeros((14, 3, n))
  for i in range(n):
    raw[:, :2, i] = lsp_joints(i) + 1.0   # the file is 1-based
    raw[:, 2, i] = 1.0
  scipy.io.savemat(manual / "joints.mat", {"joints": raw})
  rng = np.random.default_rng(0)
  for i in range(9, n, 10):
    Image.fromarray(rng.integers(0, 255, (320, 240, 3), np.uint8)).save(
        manual / "images" / f"im{i + 1:05d}.jpg")
  cfg = load_config(REPO / "configs" / "tiny.py")
  with cfg.unlocked():
    cfg.data.dataset = "lsp/extended"
    cfg.model.num_joints = 14
    cfg.data.manual_dir = str(manual)
    cfg.data.tfds_data_dir = str(root / "tfds")
    cfg.data.worker_count = 0
    cfg.input_size = 128
    cfg.eval_batch_size = 4
    cfg.decode.method = "parabola"
    cfg.decode.flip_test = True
  pipeline.prepare(cfg)

  def who(joints, visible):
    """The image index (0-based) whose joints these are (original px)."""
    return min(range(n), key=lambda i: np.abs(lsp_joints(i)[visible] - joints).max())
  return cfg, who


def test_lsp_ground_truth_through_the_evaluation_scores_100(lsp_config):
  cfg, who = lsp_config
  results, images, zoom = oracle_results(cfg, who)
  report = pckh_report(results, skeleton.LSP)
  assert sorted(images) == [9, 19, 29, 39] and report["num_people"] == 4
  for t in skeleton.LSP.thresholds:
    assert headline(report, skeleton.LSP, t) >= 0.999, t
  np.testing.assert_allclose(results["normaliser"][results["valid"]] / zoom,
                             [lsp_torso(i) for i in images], rtol=1e-4)


def test_lsp_known_shifts_give_known_drops(lsp_config):
  cfg, who = lsp_config
  # Images 10 and 30 moved down by 0.15 × torso (correct at PCK@0.2, not @0.1), 20 and 40 by
  # 0.3 × torso (wrong at every threshold): half the joints count at @0.2, none at @0.1.
  factors = {9: 0.15, 19: 0.3, 29: 0.15, 39: 0.3}
  shift = lambda i: np.array([0.0, factors[i] * lsp_torso(i)])
  results, _, _ = oracle_results(cfg, who, shift)
  report = pckh_report(results, skeleton.LSP)
  assert headline(report, skeleton.LSP, 0.2) == pytest.approx(0.5, abs=1e-9)
  assert headline(report, skeleton.LSP, 0.1) == 0.0
