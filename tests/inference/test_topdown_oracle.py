"""The top-down COCO evaluation adds no error of its own: an oracle round trip.

Ground-truth keypoints of ../shared/data/coco_sample are mapped into each person's crop by
the predictor's own crop, encoded to the Gaussians a perfect model would output (for the crop
and for its mirror image), decoded through the real flip test and codec, mapped back to the
photo, rescored, OKS-NMS'd and scored by COCO's evaluator (`inference/topdown.py`,
`evaluation/coco_eval.py`). Independent reference: the evaluator on the ground truth itself.
"""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pytest

from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.data import geometry
from msposejax.evaluation import coco_eval
from msposejax.evaluation.flip_test import flip_test_heatmaps
from msposejax.inference import topdown
from msposejax.inference.predictor import Predictor
from tests.conftest import REPO

SAMPLE = REPO.parent / "shared" / "data" / "coco_sample"
ANNOTATIONS = SAMPLE / "person_keypoints_train2017.json"
pytestmark = pytest.mark.skipif(not ANNOTATIONS.is_file(),
                                reason=f"COCO sample not found at {SAMPLE}")


class OraclePredictor(Predictor):
  """A Predictor whose network outputs the ground truth's Gaussians (no weights).

  `crop` records each person's image → crop matrix and ground truth; the jitted network call
  is replaced by heatmaps rendered from them, then the real flip test and decoding run.
  """

  def __init__(self, config, truth: dict[tuple, tuple[np.ndarray, np.ndarray]]):
    super().__init__(config, variables={})
    self._codec = MultiScaleCodec.from_config(self.config)
    self.truth = truth
    self.pending: list = []
    self._predict = self._oracle

  def crop(self, image, box=None):
    crop, to_image = super().crop(image, box)
    xy, visible = self.truth[tuple(float(v) for v in box)]
    self.pending.append((np.linalg.inv(to_image), xy, visible))
    return crop, to_image

  def _oracle(self, variables, batch):
    del variables
    codec = self._codec
    h, w = self.input_hw
    perm = np.asarray(self.skeleton.flip_permutation())
    k = self.skeleton.num_joints
    items, self.pending = self.pending[:len(batch)], self.pending[len(batch):]
    plain, mirrored = [], []
    for i in range(len(batch)):
      if i < len(items):
        m, xy, visible = items[i]
        crop_xy = geometry.apply_affine(m, xy)
      else:  # padding of the batch
        crop_xy, visible = np.zeros((k, 2)), np.zeros(k, bool)
      full = codec.resolutions[0]
      plain.append(codec.encode(crop_xy, visible)[0][full])
      # What a perfect network outputs for the mirrored crop: channel j holds the mirror
      # image of joint perm[j] (the person's left becomes their right).
      mirror_xy = np.stack([w - 1 - crop_xy[:, 0], crop_xy[:, 1]], -1)[perm]
      mirrored.append(codec.encode(mirror_xy, visible[perm])[0][full])
    stacked = jnp.asarray(np.concatenate([np.stack(plain), np.stack(mirrored)]))
    images = jnp.asarray(batch, jnp.float32)
    heatmaps = flip_test_heatmaps(lambda _: stacked, images, self.skeleton.flip_pairs)
    coords, scores = codec.decode(heatmaps)
    return np.asarray(coords), np.asarray(scores)


@pytest.fixture(scope="module")
def sample():
  annotations = json.loads(ANNOTATIONS.read_text())
  boxes = topdown.ground_truth_boxes(annotations)
  by_image = {}
  for ann in annotations["annotations"]:
    by_image.setdefault(int(ann["image_id"]), []).append(ann)
  return annotations, boxes, by_image


def _annotation_of(box, by_image) -> dict:
  """The annotation a ground-truth box came from: the one whose clipped box starts there."""
  anns = [a for a in by_image[box.image_id] if not a.get("iscrowd")
          and max(a["keypoints"][2::3]) > 0]
  return min(anns, key=lambda a: abs(max(0.0, a["bbox"][0]) - box.box[0])
             + abs(max(0.0, a["bbox"][1]) - box.box[1]))


def _seen_by_the_crop(config, annotations, boxes, by_image):
  """(annotations, boxes) without the people who have a labelled joint outside their own
  crop (the box at 3:4, padded 1.25×): a top-down model cannot place those joints."""
  from msposejax.inference.predictor import person_box
  from msposejax.input_size import input_hw
  h, w = input_hw(config)
  sizes = {im["id"]: (im["height"], im["width"]) for im in annotations["images"]}
  dropped, kept = set(), []
  for box in boxes:
    ann = _annotation_of(box, by_image)
    center, side = person_box(sizes[box.image_id] + (3,), box.corners(),
                              scale_factor=config.data.scale_factor, center_shift=0.0,
                              aspect_wh=w / h)
    kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
    xy = geometry.apply_affine(geometry.crop_matrix(center, side, (h, w)), kps[:, :2])
    inside = (xy >= -0.5).all(1) & (xy[:, 0] < w - 0.5) & (xy[:, 1] < h - 0.5)
    if (inside | (kps[:, 2] == 0)).all():
      kept.append(box)
    else:
      dropped.add(ann["id"])
  cut = dict(annotations, annotations=[a for a in annotations["annotations"]
                                       if a["id"] not in dropped])
  return cut, kept, len(dropped)


def _truth(boxes, by_image, shift_joint: int | None = None, shift_px: float = 0.0):
  """(box corners → (keypoints (K, 2), visible (K,))): each box's own annotation."""
  truth = {}
  for box in boxes:
    kps = np.asarray(_annotation_of(box, by_image)["keypoints"], np.float64).reshape(-1, 3)
    xy = kps[:, :2].copy()
    if shift_joint is not None:
      xy[shift_joint, 0] += shift_px
    truth[box.corners()] = (xy, kps[:, 2] > 0)
  return truth


def _pipeline_ap(config, annotations, boxes, truth, skipped_boxes=0) -> dict[str, float]:
  predictor = OraclePredictor(config, truth)
  people, skipped = topdown.predict_people(
      predictor, boxes, topdown.image_paths(annotations, SAMPLE / "images"))
  assert skipped == {"images": {}, "boxes": skipped_boxes}
  rows = topdown.results_rows(people, predictor.skeleton)
  return coco_eval.evaluate(annotations, rows, predictor.skeleton)


def _direct_ap(annotations, shift_joint=None, shift_px=0.0) -> dict[str, float]:
  """The evaluator on the ground truth itself (score 1 each), optionally one joint moved."""
  rows = []
  for ann in annotations["annotations"]:
    if ann.get("iscrowd") or max(ann["keypoints"][2::3]) == 0:
      continue
    kps = np.asarray(ann["keypoints"], np.float64).reshape(-1, 3)
    if shift_joint is not None:
      kps[shift_joint, 0] += shift_px
    rows.append({"image_id": ann["image_id"], "category_id": 1,
                 "keypoints": kps.ravel().tolist(), "score": 1.0})
  return coco_eval.evaluate(annotations, rows, "coco")


@pytest.fixture(scope="module")
def coco_config():
  from msposejax.config_files import load_config
  return load_config(REPO / "configs" / "coco_msr8.py")


def test_oracle_round_trip_keeps_the_ground_truths_ap(coco_config, sample):
  annotations, boxes, by_image = sample
  assert len(boxes) == 86  # the sample's README: 86 people with keypoints
  direct = _direct_ap(annotations)
  assert direct["oks_ap"] == pytest.approx(1.0)
  # What a top-down model cannot see: 6 of the 86 people have a labelled joint outside their
  # own padded box (COCO's boxes do not always hold their keypoints); those joints cost AP.
  everyone = _pipeline_ap(coco_config, annotations, boxes, _truth(boxes, by_image))
  assert 0.93 <= everyone["oks_ap"] < 0.98, everyone
  seen, seen_boxes, num_unseen = _seen_by_the_crop(coco_config, annotations, boxes, by_image)
  assert num_unseen == 6
  # The rest adds nothing of its own: the 64×48 maps. quantisation after sub-pixel
  # decoding (≤ ¼ heatmap px = 1 crop px, several photo px on large people), on OKS's
  # smallest σ (0.025 for the eyes).
  # A detector's box entirely outside its photo is skipped and counted, not fatal.
  stray = topdown.PersonBox(seen_boxes[0].image_id, (5000.0, 5000.0, 20.0, 40.0), 0.9)
  oracle = _pipeline_ap(coco_config, seen, seen_boxes + [stray], _truth(seen_boxes, by_image),
                        skipped_boxes=1)
  assert oracle["oks_ap"] >= 0.98, oracle
  assert oracle["oks_ar"] >= 0.98, oracle


def test_a_shifted_joint_costs_the_pipeline_what_it_costs_the_evaluator(coco_config, sample):
  """A 3 px shift of every nose (the smallest σ) in the photo: the pipeline's AP drops by what
  the evaluator's AP of the shifted ground truth drops, within the round trip's own loss."""
  annotations, boxes, by_image = sample
  seen, boxes, _ = _seen_by_the_crop(coco_config, annotations, boxes, by_image)
  nose, shift = 0, 3.0
  direct = _direct_ap(seen)["oks_ap"]
  direct_shifted = _direct_ap(seen, nose, shift)["oks_ap"]
  oracle = _pipeline_ap(coco_config, seen, boxes, _truth(boxes, by_image))["oks_ap"]
  oracle_shifted = _pipeline_ap(coco_config, seen, boxes,
                                _truth(boxes, by_image, nose, shift))["oks_ap"]
  assert direct - direct_shifted > 0.02  # the shift is visible to the metric at all
  assert oracle - oracle_shifted > 0.02    # ... and to the pipeline
  assert abs((oracle - oracle_shifted) - (direct - direct_shifted)) <= 0.005, (
      direct, direct_shifted, oracle, oracle_shifted)
