"""The MPII 16-joint skeleton: names, flip pairs, limbs and neighbour sets (data only).

See DESIGN §1. Everything here is plain Python data so any module (host or device) can use it.
"""

from __future__ import annotations

JOINT_NAMES: tuple[str, ...] = (
    "r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder",
    "l_elbow", "l_wrist",
)
NUM_JOINTS: int = len(JOINT_NAMES)
JOINT_INDEX: dict[str, int] = {name: i for i, name in enumerate(JOINT_NAMES)}

FLIP_PAIRS: tuple[tuple[int, int], ...] = ((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13))

LIMBS: tuple[tuple[int, int], ...] = (
    (0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
    (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15),
)

# MPII evaluation parts (DESIGN §6): each part is the joints it averages (count-weighted).
PARTS: dict[str, tuple[int, ...]] = {
    "Head": (9,), "Shoulder": (12, 13), "Elbow": (11, 14), "Wrist": (10, 15),
    "Hip": (2, 3), "Knee": (1, 4), "Ankle": (0, 5),
}
# The MPII "Mean" leaves out pelvis and thorax (they define the person, not the pose).
MEAN_EXCLUDED: tuple[int, ...] = (6, 7)

LEFT_JOINTS: frozenset[int] = frozenset(j for j, n in enumerate(JOINT_NAMES) if n.startswith("l_"))
RIGHT_JOINTS: frozenset[int] = frozenset(j for j, n in enumerate(JOINT_NAMES) if n.startswith("r_"))


def flip_permutation(num_joints: int = NUM_JOINTS,
                     flip_pairs: tuple[tuple[int, int], ...] = FLIP_PAIRS) -> tuple[int, ...]:
  """Index permutation `perm` such that `flipped[..., k] = original[..., perm[k]]`."""
  perm = list(range(num_joints))
  for a, b in flip_pairs:
    perm[a], perm[b] = b, a
  return tuple(perm)


def neighbour_sets(num_joints: int = NUM_JOINTS,
                   limbs: tuple[tuple[int, int], ...] = LIMBS) -> tuple[tuple[int, ...], ...]:
  """S_i = {i} ∪ {j : (i, j) is a limb}, sorted, for every joint i (DESIGN §1)."""
  sets = [{i} for i in range(num_joints)]
  for a, b in limbs:
    sets[a].add(b)
    sets[b].add(a)
  return tuple(tuple(sorted(s)) for s in sets)


def neighbour_matrix(num_joints: int = NUM_JOINTS,
                     limbs: tuple[tuple[int, int], ...] = LIMBS) -> list[list[float]]:
  """K×K 0/1 matrix A with A[i, j] = 1 iff j ∈ S_i (used by the structure-aware loss)."""
  sets = neighbour_sets(num_joints, limbs)
  return [[1.0 if j in sets[i] else 0.0 for j in range(num_joints)] for i in range(num_joints)]
