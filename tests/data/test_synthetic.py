"""The procedural people generator: determinism, joints inside the canvas, plausibility."""

import numpy as np

from msposejax import skeleton
from msposejax.data.synthetic import HARD_SPEC, SyntheticSpec, generate_example
from msposejax.data.synthetic_people import builder_config


def test_same_seed_same_example_and_different_index_differs():
  a, b, c = generate_example(3, 7), generate_example(3, 7), generate_example(3, 8)
  np.testing.assert_array_equal(a["image"], b["image"])
  np.testing.assert_array_equal(a["joints"], b["joints"])
  assert not np.array_equal(a["joints"], c["joints"])


def test_joints_inside_canvas_and_proportions_plausible():
  spec = SyntheticSpec()
  heights, torsos = [], []
  for i in range(200):
    ex = generate_example(0, i, spec)
    j = ex["joints"]
    assert ex["image"].shape == (256, 256, 3) and ex["image"].dtype == np.uint8
    assert (j >= 0).all() and (j <= 255).all()
    idx = skeleton.JOINT_INDEX
    torso = np.linalg.norm(j[idx["thorax"]] - j[idx["pelvis"]])
    np.testing.assert_allclose(torso, ex["torso"], rtol=1e-4)
    # Camera-facing: the right hip is on the image's left of the left hip.
    assert j[idx["r_hip"]][0] < j[idx["l_hip"]][0] + 1e-3
    # Limbs no longer than their nominal length (foreshortening only shortens).
    assert np.linalg.norm(j[idx["r_knee"]] - j[idx["r_hip"]]) <= 0.5 * torso + 1e-3
    heights.append(ex["scale"] * 200)
    torsos.append(ex["torso"])
    x1, y1, x2, y2 = ex["head_box"]
    assert x2 > x1 and y2 > y1
  assert max(torsos) / min(torsos) > 2.5  # the scale range the data issue asks for (≥ 3× spec)


def test_occluded_and_crowded_tags_occur():
  tags = [(e["occluded"], e["crowded"]) for e in (generate_example(1, i) for i in range(100))]
  assert 10 < sum(o for o, _ in tags) < 60 and 10 < sum(c for _, c in tags) < 60


def test_hard_split_is_harder_and_inside_the_canvas():
  hard = [generate_example(1, i, HARD_SPEC) for i in range(150)]
  easy = [generate_example(1, i) for i in range(150)]
  for key in ("occluded", "crowded"):
    assert np.mean([x[key] for x in hard]) > 2 * np.mean([x[key] for x in easy])
  torsos = np.array([x["torso"] for x in hard])
  assert torsos.min() < SyntheticSpec().torso_min and torsos.max() > SyntheticSpec().torso_max
  for x in hard:
    assert (x["joints"] >= 0).all() and (x["joints"] <= 255).all()


def test_hard_split_by_name_and_by_registered_config():
  cfg = builder_config("train=16,validation=8,seed=2,hard=1")
  assert cfg.name == "train16_validation8_seed2_hard" and cfg.validation_spec == HARD_SPEC
  assert cfg.spec == SyntheticSpec()  # training people stay the default ones
  assert builder_config("train=16,validation=8").validation_spec is None
  assert builder_config("hard") == "hard"
