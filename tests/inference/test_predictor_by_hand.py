"""The Predictor against references by hand, with the trained tiny model on a real MPII photo.

Flip test is equivariant under mirroring: the flip test of a mirrored person is the mirrored
flip test of the person with left and right swapped (docs/method.md §5), on the heatmaps and
on the Predictor's keypoints. With F the mirror-and-swap of heatmaps and f the network, flip
test is ft(x) = ½(f(x) + F f(mirror x)), so ft(mirror x) = ½(f(mirror x) + F f(x)) = F ft(x)
exactly, whatever the network; without the swap (or with a pixel shift) it fails on any
network whose left and right channels differ, as a trained one's do.

Keypoints in image pixels are the crop's keypoints mapped back by the crop rule by hand.
"""

import jax
import numpy as np
import pytest

from msposejax.codecs.flip import flip_heatmaps
from msposejax.data.features import decode_image
from msposejax.evaluation.flip_test import flip_test_heatmaps
from msposejax.inference.predictor import Predictor
from msposejax.models import pose_net_from_config
from tests.conftest import REPO

SAMPLE = REPO / "tests" / "fixtures" / "mpii_sample"
# A real photo and its person (MPII's centre and scale, 0-based, from test_mpii.json).
PHOTO, CENTER, SCALE = "005808361.jpg", (965.0, 339.0), 4.718488

pytestmark = pytest.mark.xdist_group("predictor")


@pytest.fixture(scope="module")
def predictor_and_crop(tiny_run):
  pred = Predictor.from_checkpoint(tiny_run[0], flip_test=True)
  image = decode_image((SAMPLE / PHOTO).read_bytes())
  crop, _ = pred.crop(image, {"center": CENTER, "scale": SCALE})
  return pred, crop


def test_flip_test_heatmaps_of_the_mirror_are_the_mirrored_swapped_heatmaps(predictor_and_crop):
  pred, crop = predictor_and_crop
  pairs = pred.skeleton.flip_pairs
  model = pose_net_from_config(pred.config.model)
  heatmap_fn = lambda x: model.apply(pred.variables, x, train=False)["final"]
  images = np.stack([crop, crop[:, ::-1]]).astype(np.float32) / 255.0
  ft = np.asarray(jax.jit(lambda x: flip_test_heatmaps(heatmap_fn, x, pairs))(images))
  plain, mirrored = ft
  expected = np.asarray(flip_heatmaps(plain[None], pairs))[0]
  scale = np.abs(plain).max()
  np.testing.assert_allclose(mirrored, expected, atol=1e-5 * scale)
  # The test can fail: the left and right channels of this model differ by far more.
  swapped = np.asarray(flip_heatmaps(plain[None], ()))[0]
  assert np.abs(swapped - expected).max() > 1e-2 * scale


def test_predictor_keypoints_of_the_mirrored_crop_are_the_mirrored_keypoints(predictor_and_crop):
  pred, crop = predictor_and_crop
  n = crop.shape[1]
  coords, _ = pred.predict_crops(np.stack([crop, crop[:, ::-1]]))
  perm = list(pred.skeleton.flip_permutation())
  by_hand = coords[0][perm] * [-1.0, 1.0] + [n - 1.0, 0.0]
  np.testing.assert_allclose(coords[1], by_hand, atol=1e-3)
  # Left and right keypoints differ by pixels, not noise: a missing swap would show.
  assert np.abs(coords[0] - coords[0][perm]).max() > 1.0


def test_predictor_keypoints_are_the_crops_mapped_back_by_the_crop_rule(predictor_and_crop):
  """Image pixels by hand: a box (x1, y1, x2, y2) is a square crop of side 1.25 × its longer
  side around its centre, resampled to n px with edges at −½ and n − ½ (docs/method.md §1), so
  crop x maps to c − side/2 + (x + ½)·side/n."""
  pred, _ = predictor_and_crop
  image = decode_image((SAMPLE / PHOTO).read_bytes())
  box = (700.0, 60.0, 1200.0, 760.0)
  crop, _ = pred.crop(image, box)
  n = crop.shape[0]
  coords, _ = pred.predict_crops(crop[None])
  centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])
  side = 1.25 * max(box[2] - box[0], box[3] - box[1])
  by_hand = centre - side / 2 + (coords[0] + 0.5) * side / n
  np.testing.assert_allclose(pred(image, box)["keypoints"], by_hand, atol=1e-3)
