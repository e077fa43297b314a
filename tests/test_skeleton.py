import pytest

from msposejax import skeleton
from msposejax.config_files import load_config


@pytest.mark.parametrize("skel, joints, limbs", [(skeleton.MPII, 16, 15), (skeleton.LSP, 14, 14)])
def test_sizes(skel, joints, limbs):
  assert skel.num_joints == joints
  assert len(skel.limbs) == limbs
  assert len(skel.flip_pairs) == 6
  # Every joint is on some limb and every part names real joints.
  assert {j for limb in skel.limbs for j in limb} == set(range(joints))
  assert all(0 <= j < joints for _, part in skel.parts for j in part)


def test_lsp_order_is_the_joints_mat_order():
  # The order the LSP / LSP-extended README lists (right ankle first, head top last).
  assert skeleton.LSP.joint_names == (
      "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "r_wrist", "r_elbow",
      "r_shoulder", "l_shoulder", "l_elbow", "l_wrist", "neck", "head_top")
  j = skeleton.LSP.joint_index
  assert skeleton.LSP.torso == (j["l_shoulder"], j["r_hip"])
  assert skeleton.LSP.mean_excluded == () and skeleton.LSP.headline == "pck@0.2"
  assert skeleton.MPII.headline == "pckh@0.5"


def test_neighbour_sets_match_design_examples():
  sets = skeleton.MPII.neighbour_sets()
  j = skeleton.MPII.joint_index
  assert set(sets[j["r_wrist"]]) == {j["r_wrist"], j["r_elbow"]}
  assert set(sets[j["l_elbow"]]) == {j["l_shoulder"], j["l_elbow"], j["l_wrist"]}
  assert set(sets[j["thorax"]]) == {j["pelvis"], j["thorax"], j["upper_neck"],
                                    j["r_shoulder"], j["l_shoulder"]}
  lsp = skeleton.LSP.neighbour_sets()
  j = skeleton.LSP.joint_index
  assert set(lsp[j["neck"]]) == {j["neck"], j["head_top"], j["r_shoulder"], j["l_shoulder"]}
  assert set(lsp[j["r_hip"]]) == {j["r_hip"], j["r_knee"], j["l_hip"], j["r_shoulder"]}


@pytest.mark.parametrize("skel", [skeleton.MPII, skeleton.LSP])
def test_neighbour_matrix_is_symmetric_with_unit_diagonal(skel):
  a = skel.neighbour_matrix()
  k = skel.num_joints
  for i in range(k):
    assert a[i][i] == 1.0
    for m in range(k):
      assert a[i][m] == a[m][i]
  assert sum(map(sum, a)) == k + 2 * len(skel.limbs)


@pytest.mark.parametrize("skel", [skeleton.MPII, skeleton.LSP])
def test_flip_permutation_swaps_left_and_right(skel):
  perm = skel.flip_permutation()
  assert tuple(perm[p] for p in perm) == tuple(range(skel.num_joints))
  for k, name in enumerate(skel.joint_names):
    other = skel.joint_names[perm[k]]
    if name[:2] in ("l_", "r_"):
      assert other[2:] == name[2:] and other[:2] != name[:2]
    else:
      assert other == name


def test_dataset_chooses_the_skeleton_and_a_mismatch_is_one_error():
  assert skeleton.for_dataset("lsp/extended") is skeleton.LSP
  assert skeleton.for_dataset("mpii_human_pose") is skeleton.MPII
  assert skeleton.for_dataset("synthetic_people/small") is skeleton.MPII
  config = load_config("configs/tiny.py")
  with config.unlocked():
    config.data.dataset = "lsp/extended"
  with pytest.raises(ValueError, match="num_joints=16 .*LSP skeleton of 14 joints"):
    skeleton.check_num_joints(config)
  with pytest.raises(ValueError, match="unknown skeleton"):
    skeleton.get("coco")
