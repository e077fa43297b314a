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
    skeleton.get("no_such_skeleton")


# Every neighbour set S_i = {i} ∪ {joints sharing a limb with i}, written out by hand from the
# body (not from `limbs`): a wrong limb in the code changes two of these sets.
MPII_NEIGHBOURS = {
    "r_ankle": {"r_knee"},
    "r_knee": {"r_ankle", "r_hip"},
    "r_hip": {"r_knee", "pelvis"},
    "l_hip": {"pelvis", "l_knee"},
    "l_knee": {"l_hip", "l_ankle"},
    "l_ankle": {"l_knee"},
    "pelvis": {"r_hip", "l_hip", "thorax"},
    "thorax": {"pelvis", "upper_neck", "r_shoulder", "l_shoulder"},
    "upper_neck": {"thorax", "head_top"},
    "head_top": {"upper_neck"},
    "r_wrist": {"r_elbow"},
    "r_elbow": {"r_wrist", "r_shoulder"},
    "r_shoulder": {"r_elbow", "thorax"},
    "l_shoulder": {"thorax", "l_elbow"},
    "l_elbow": {"l_shoulder", "l_wrist"},
    "l_wrist": {"l_elbow"},
}
# LSP has no pelvis or thorax: the hips are linked to each other and to their shoulder, the
# shoulders to the neck.
LSP_NEIGHBOURS = {
    "r_ankle": {"r_knee"},
    "r_knee": {"r_ankle", "r_hip"},
    "r_hip": {"r_knee", "l_hip", "r_shoulder"},
    "l_hip": {"r_hip", "l_knee", "l_shoulder"},
    "l_knee": {"l_hip", "l_ankle"},
    "l_ankle": {"l_knee"},
    "r_wrist": {"r_elbow"},
    "r_elbow": {"r_wrist", "r_shoulder"},
    "r_shoulder": {"r_hip", "r_elbow", "neck"},
    "l_shoulder": {"l_hip", "l_elbow", "neck"},
    "l_elbow": {"l_shoulder", "l_wrist"},
    "l_wrist": {"l_elbow"},
    "neck": {"r_shoulder", "l_shoulder", "head_top"},
    "head_top": {"neck"},
}


@pytest.mark.parametrize("skel, by_hand", [(skeleton.MPII, MPII_NEIGHBOURS),
                                           (skeleton.LSP, LSP_NEIGHBOURS)])
def test_every_neighbour_set_is_the_one_written_by_hand(skel, by_hand):
  assert set(by_hand) == set(skel.joint_names)
  j = skel.joint_index
  sets = skel.neighbour_sets()
  matrix = skel.neighbour_matrix()
  for name, others in by_hand.items():
    expected = {j[name]} | {j[o] for o in others}
    assert set(sets[j[name]]) == expected, name
    assert {m for m, a in enumerate(matrix[j[name]]) if a} == expected, name
