from msposejax import skeleton


def test_sizes():
  assert skeleton.NUM_JOINTS == 16
  assert len(skeleton.LIMBS) == 15
  assert len(skeleton.FLIP_PAIRS) == 6


def test_neighbour_sets_match_design_examples():
  sets = skeleton.neighbour_sets()
  j = skeleton.JOINT_INDEX
  assert set(sets[j["r_wrist"]]) == {j["r_wrist"], j["r_elbow"]}
  assert set(sets[j["l_elbow"]]) == {j["l_shoulder"], j["l_elbow"], j["l_wrist"]}
  assert set(sets[j["thorax"]]) == {j["pelvis"], j["thorax"], j["upper_neck"],
                                    j["r_shoulder"], j["l_shoulder"]}


def test_neighbour_matrix_is_symmetric_with_unit_diagonal():
  a = skeleton.neighbour_matrix()
  for i in range(16):
    assert a[i][i] == 1.0
    for k in range(16):
      assert a[i][k] == a[k][i]
  assert sum(map(sum, a)) == 16 + 2 * 15


def test_flip_permutation_swaps_left_and_right():
  perm = skeleton.flip_permutation()
  assert tuple(perm[p] for p in perm) == tuple(range(16))
  for k, name in enumerate(skeleton.JOINT_NAMES):
    other = skeleton.JOINT_NAMES[perm[k]]
    if name[:2] in ("l_", "r_"):
      assert other[2:] == name[2:] and other[:2] != name[:2]
    else:
      assert other == name
