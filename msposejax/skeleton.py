"""Skeletons as data: joint names, flip pairs, limbs, neighbour sets and metric parts.

A `Skeleton` is chosen by the dataset (`for_dataset`, `from_config`): MPII's 16 joints for
`mpii_human_pose` and `synthetic_people`, LSP's 14 for `lsp`, and for `coco/...` the one its
builder config names (COCO's 17 by default, CrowdPose's 14 with `skeleton=crowdpose`). The
model's joint count, the structure-aware loss, flips, drawing, the metric and the predictor all
ask it. Everything here is plain Python data so any module (host or device) can use it.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any


@dataclasses.dataclass(frozen=True)
class Skeleton:
  """One joint set and what follows from it.

  Attributes:
    name: "mpii" | "lsp" | "coco" | "crowdpose"; stored in checkpoints and prediction files.
    joint_names: K names, in the dataset's order ("l_"/"r_": the person's left/right).
    flip_pairs: (left, right) joint pairs swapped by a horizontal flip.
    limbs: joint pairs drawn as bones and used for the neighbour sets S_i.
    parts: the per-part tables' parts, each the joints it averages (count-weighted).
    mean_excluded: joints the PCK "Mean" leaves out (MPII: pelvis, thorax).
    metric: "PCKh" (normalised by head size) | "PCK" (normalised by torso size) | "OKS AP"
      (COCO's object keypoint similarity AP, from a COCO evaluator with `sigmas`).
    thresholds: PCK metrics: fractions of the normaliser reported, headline first. Empty for
      "OKS AP", whose AP averages the OKS thresholds 0.50:0.05:0.95 itself.
    torso: (a, b): the torso size is ‖joint a − joint b‖ (PCK; for OKS skeletons a PCK
      diagnostic's normaliser, l_shoulder–r_hip as LSP's).
    sigmas: (K,) OKS per-joint constants κ (the evaluator's `kpt_oks_sigmas`); OKS AP only.
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
  sigmas: tuple[float, ...] | None = None

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
    """The metric key of the headline number: "pckh@0.5", "pck@0.2" or "oks_ap"."""
    if self.metric == OKS_AP:
      return OKS_KEYS[0]
    return metric_key(self, self.thresholds[0])

  @property
  def headline_label(self) -> str:
    """The headline metric as people write it: "PCKh@0.5", "PCK@0.2", "OKS AP"."""
    return self.metric if self.metric == OKS_AP else f"{self.metric}@{self.thresholds[0]}"

  def flip_permutation(self) -> tuple[int, ...]:
    return flip_permutation(self.num_joints, self.flip_pairs)

  def neighbour_sets(self) -> tuple[tuple[int, ...], ...]:
    return neighbour_sets(self.num_joints, self.limbs)

  def neighbour_matrix(self) -> list[list[float]]:
    return neighbour_matrix(self.num_joints, self.limbs)


def metric_key(skel: Skeleton, threshold: float) -> str:
  """The report key of a PCK metric at one threshold, e.g. "pckh@0.5"."""
  return f"{skel.metric.lower()}@{threshold}"


OKS_AP = "OKS AP"
# The COCO keypoint evaluator's 10 stats (`COCOeval.stats`), in its order; "oks_ap" (AP over
# OKS 0.50:0.05:0.95, all areas) is the headline. m / l: medium / large people by area.
OKS_KEYS = ("oks_ap", "oks_ap50", "oks_ap75", "oks_apm", "oks_apl",
            "oks_ar", "oks_ar50", "oks_ar75", "oks_arm", "oks_arl")


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

# COCO person keypoints, the order of the annotation files' `categories[0].keypoints`.
# Limbs: the category's `skeleton` (1-based there, 0-based here), the bones every COCO tool
# draws; the neighbour sets S_i follow from them. Sigmas: the official `kpt_oks_sigmas` of
# pycocotools' COCOeval. Parts: for per-part tables (Head = nose, eyes and ears).
COCO = Skeleton(
    name="coco",
    joint_names=("nose", "l_eye", "r_eye", "l_ear", "r_ear", "l_shoulder", "r_shoulder",
                 "l_elbow", "r_elbow", "l_wrist", "r_wrist", "l_hip", "r_hip", "l_knee",
                 "r_knee", "l_ankle", "r_ankle"),
    flip_pairs=((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12), (13, 14), (15, 16)),
    limbs=((15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
           (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6)),
    parts=(("Head", (0, 1, 2, 3, 4)), ("Shoulder", (5, 6)), ("Elbow", (7, 8)),
           ("Wrist", (9, 10)), ("Hip", (11, 12)), ("Knee", (13, 14)), ("Ankle", (15, 16))),
    mean_excluded=(),
    metric=OKS_AP,
    thresholds=(),
    torso=(5, 12),
    sigmas=tuple(s / 10 for s in (.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
                                  1.07, 1.07, .87, .87, .89, .89)),
)

# CrowdPose (Li et al., CVPR 2019), the order of its annotation files; limbs and sigmas as its
# official crowdpose-api and mmpose's `crowdpose.py` dataset info define them.
CROWDPOSE = Skeleton(
    name="crowdpose",
    joint_names=("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
                 "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "head_top",
                 "neck"),
    flip_pairs=((0, 1), (2, 3), (4, 5), (6, 7), (8, 9), (10, 11)),
    limbs=((10, 8), (8, 6), (11, 9), (9, 7), (6, 7), (0, 6), (1, 7), (0, 1), (0, 2), (1, 3),
           (2, 4), (3, 5), (12, 13), (1, 13), (0, 13)),
    parts=(("Head", (12, 13)), ("Shoulder", (0, 1)), ("Elbow", (2, 3)), ("Wrist", (4, 5)),
           ("Hip", (6, 7)), ("Knee", (8, 9)), ("Ankle", (10, 11))),
    mean_excluded=(),
    metric=OKS_AP,
    thresholds=(),
    torso=(0, 7),
    sigmas=tuple(s / 10 for s in (.79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89,
                                  .89, .79, .79)),
)

# Order matters where only K is known (`draw._skeleton_with`): LSP before CrowdPose for 14.
SKELETONS: dict[str, Skeleton] = {s.name: s for s in (MPII, LSP, COCO, CROWDPOSE)}


def get(name: str) -> Skeleton:
  if name not in SKELETONS:
    raise ValueError(f"unknown skeleton {name!r} (known: {sorted(SKELETONS)})")
  return SKELETONS[name]


def for_dataset(dataset: str) -> Skeleton:
  """The skeleton of a `config.data.dataset` value ("name/config").

  "coco/...": the skeleton its options name ("coco/train=F,skeleton=crowdpose"), or a preset
  named after a skeleton ("coco/crowdpose"), else COCO's (`data/coco.py` parses the rest).
  """
  name, _, spec = dataset.partition("/")
  if name == "coco":
    options = dict(item.partition("=")[::2] for item in spec.split(",") if "=" in item)
    if "skeleton" in options:
      return get(options["skeleton"])
    return CROWDPOSE if spec == "crowdpose" else COCO
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
