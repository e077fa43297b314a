"""Skeletons as data: joint names, flip pairs, limbs, neighbour sets and metric parts.

A `Skeleton` is chosen by the dataset (`for_dataset`, `from_config`): MPII's 16 joints for
`mpii_human_pose` and `synthetic_people`, LSP's 14 for `lsp`. The model's joint count, the
structure-aware loss, flips, drawing, the metric and the predictor all ask it. Everything here
is plain Python data so any module (host or device) can use it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any


@dataclasses.dataclass(frozen=True)
class Skeleton:
  """One joint set and what follows from it.

  Attributes:
    name: "mpii" | "lsp"; stored in checkpoints and prediction files.
    joint_names: K names, in the dataset's order ("l_"/"r_": the person's left/right).
    flip_pairs: (left, right) joint pairs swapped by a horizontal flip.
    limbs: joint pairs drawn as bones and used for the neighbour sets S_i.
    parts: the metric's parts, each the joints it averages (count-weighted).
    mean_excluded: joints the headline "Mean" leaves out (MPII: pelvis, thorax).
    metric: "PCKh" (normalised by head size) | "PCK" (normalised by torso size).
    thresholds: fractions of the normaliser reported, headline first.
    torso: (a, b): the torso size is ‖joint a − joint b‖ (PCK only).
  """
  name: str
  joint_names: tuple[str, ...]
  flip_pairs: tuple[tuple[int, int], ...]
  limbs: tuple[tuple[int, int], ...]
  parts: tuple[tuple[str, tuple[int, ...]], ...]
  mean_excluded: tuple[int, ...]
  metric: str
  thresholds: tuple[float, ...]
  torso: tuple[int, int] | None = None

  @property
  def num_joints(self) -> int:
    return len(self.joint_names)

  @functools.cached_property
  def joint_index(self) -> dict[str, int]:
    return {n: i for i, n in enumerate(self.joint_names)}

  @property
  def left_joints(self) -> frozenset[int]:
    return frozenset(j for j, n in enumerate(self.joint_names) if n.startswith("l_"))

  @property
  def right_joints(self) -> frozenset[int]:
    return frozenset(j for j, n in enumerate(self.joint_names) if n.startswith("r_"))

  @property
  def mean_joints(self) -> tuple[int, ...]:
    return tuple(j for j in range(self.num_joints) if j not in self.mean_excluded)

  @property
  def headline(self) -> str:
    """The metric key of the headline number, e.g. "pckh@0.5" or "pck@0.2"."""
    return metric_key(self, self.thresholds[0])

  def flip_permutation(self) -> tuple[int, ...]:
    return flip_permutation(self.num_joints, self.flip_pairs)

  def neighbour_sets(self) -> tuple[tuple[int, ...], ...]:
    return neighbour_sets(self.num_joints, self.limbs)

  def neighbour_matrix(self) -> list[list[float]]:
    return neighbour_matrix(self.num_joints, self.limbs)


def metric_key(skel: Skeleton, threshold: float) -> str:
  return f"{skel.metric.lower()}@{threshold}"


MPII = Skeleton(
    name="mpii",
    joint_names=("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "pelvis", "thorax",
                 "upper_neck", "head_top", "r_wrist", "r_elbow", "r_shoulder", "l_shoulder",
                 "l_elbow", "l_wrist"),
    flip_pairs=((0, 5), (1, 4), (2, 3), (10, 15), (11, 14), (12, 13)),
    limbs=((0, 1), (1, 2), (2, 6), (6, 3), (3, 4), (4, 5), (6, 7), (7, 8), (8, 9),
           (10, 11), (11, 12), (12, 7), (7, 13), (13, 14), (14, 15)),
    parts=(("Head", (9,)), ("Shoulder", (12, 13)), ("Elbow", (11, 14)), ("Wrist", (10, 15)),
           ("Hip", (2, 3)), ("Knee", (1, 4)), ("Ankle", (0, 5))),
    # Pelvis and thorax define the person, not the pose (the official MPII "Mean").
    mean_excluded=(6, 7),
    metric="PCKh",
    thresholds=(0.5, 0.2, 0.1),
)

# Leeds Sports Pose (and LSP-extended), the order of their joints.mat. Head = neck and head
# top averaged, Mean over all 14, torso = ‖l_shoulder − r_hip‖: the PCK of the MPII
# benchmark's LSP evaluation code (as in Yang et al.'s eval_pose, `eval_pck.m`), which the
# hourglass-era LSP results report (docs/data.md).
LSP = Skeleton(
    name="lsp",
    joint_names=("r_ankle", "r_knee", "r_hip", "l_hip", "l_knee", "l_ankle", "r_wrist",
                 "r_elbow", "r_shoulder", "l_shoulder", "l_elbow", "l_wrist", "neck",
                 "head_top"),
    flip_pairs=((0, 5), (1, 4), (2, 3), (6, 11), (7, 10), (8, 9)),
    limbs=((0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (2, 8), (3, 9), (6, 7), (7, 8), (8, 12),
           (12, 9), (9, 10), (10, 11), (12, 13)),
    parts=(("Head", (12, 13)), ("Shoulder", (8, 9)), ("Elbow", (7, 10)), ("Wrist", (6, 11)),
           ("Hip", (2, 3)), ("Knee", (1, 4)), ("Ankle", (0, 5))),
    mean_excluded=(),
    metric="PCK",
    thresholds=(0.2, 0.1, 0.05),
    torso=(9, 2),
)

SKELETONS: dict[str, Skeleton] = {s.name: s for s in (MPII, LSP)}


def get(name: str) -> Skeleton:
  if name not in SKELETONS:
    raise ValueError(f"unknown skeleton {name!r} (known: {sorted(SKELETONS)})")
  return SKELETONS[name]


def for_dataset(dataset: str) -> Skeleton:
  """The skeleton of a `config.data.dataset` value ("name/config")."""
  name = dataset.partition("/")[0]
  return LSP if name == "lsp" else MPII


def from_config(config: Any) -> Skeleton:
  """The skeleton a config trains and predicts: its dataset's."""
  return for_dataset(config.data.dataset)


def check_num_joints(config: Any) -> None:
  """Raises ValueError when the model's joint count is not the dataset skeleton's."""
  skel = from_config(config)
  if int(config.model.num_joints) != skel.num_joints:
    raise ValueError(f"config.model.num_joints={config.model.num_joints} but dataset "
                     f"{config.data.dataset!r} has the {skel.name.upper()} skeleton of "
                     f"{skel.num_joints} joints")


def flip_permutation(num_joints: int, flip_pairs: tuple[tuple[int, int], ...]
                     ) -> tuple[int, ...]:
  """Index permutation `perm` such that `flipped[..., k] = original[..., perm[k]]`."""
  perm = list(range(num_joints))
  for a, b in flip_pairs:
    perm[a], perm[b] = b, a
  return tuple(perm)


def neighbour_sets(num_joints: int, limbs: tuple[tuple[int, ...], ...]
                   ) -> tuple[tuple[int, ...], ...]:
  """S_i = {i} ∪ {j : (i, j) is a limb}, sorted, for every joint i."""
  sets = [{i} for i in range(num_joints)]
  for a, b in limbs:
    sets[a].add(b)
    sets[b].add(a)
  return tuple(tuple(sorted(s)) for s in sets)


def neighbour_matrix(num_joints: int, limbs: tuple[tuple[int, ...], ...]) -> list[list[float]]:
  """K×K 0/1 matrix A with A[i, j] = 1 iff j ∈ S_i (used by the structure-aware loss)."""
  sets = neighbour_sets(num_joints, limbs)
  return [[1.0 if j in sets[i] else 0.0 for j in range(num_joints)] for i in range(num_joints)]


# MPII's, for the MPII-only modules (the MPII reader, the synthetic people generator).
JOINT_NAMES = MPII.joint_names
NUM_JOINTS = MPII.num_joints
JOINT_INDEX = MPII.joint_index
FLIP_PAIRS = MPII.flip_pairs
LIMBS = MPII.limbs
