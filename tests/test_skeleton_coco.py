"""The COCO and CrowdPose skeletons against their official definitions, written out by hand.

COCO: the `categories[0]` of the official person_keypoints_*2017.json files (keypoint names,
1-based `skeleton`) and pycocotools' `COCOeval` sigmas. CrowdPose: its crowdpose-api
(`kpt_oks_sigmas`) and the limbs of its annotation files.
"""

import json

import pytest

from msposejax import skeleton
from tests.conftest import REPO

COCO_SAMPLE = REPO / ".." / "shared" / "data" / "coco_sample"

# COCO's keypoints in the file's words and order; ours are "l_"/"r_" for left/right.
COCO_FILE_NAMES = ["nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
                   "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
                   "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle",
                   "right_ankle"]
# The category's "skeleton" as printed in the official files: 1-based joint numbers.
COCO_FILE_SKELETON = [[16, 14], [14, 12], [17, 15], [15, 13], [12, 13], [6, 12], [7, 13],
                      [6, 7], [6, 8], [7, 9], [8, 10], [9, 11], [2, 3], [1, 2], [1, 3], [2, 4],
                      [3, 5], [4, 6], [5, 7]]
# pycocotools/cocoeval.py: np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62,
# 1.07, 1.07, .87, .87, .89, .89]) / 10.0
COCO_SIGMAS = [.026, .025, .025, .035, .035, .079, .079, .072, .072, .062, .062, .107, .107,
               .087, .087, .089, .089]

# S_i \ {i} for every COCO joint, read off the bones of the official skeleton drawing: the
# face is a net of eyes, ears and nose, each ear joins its shoulder, the shoulders and hips
# form a closed torso.
COCO_NEIGHBOURS = {
    "nose": {"l_eye", "r_eye"},
    "l_eye": {"nose", "r_eye", "l_ear"},
    "r_eye": {"nose", "l_eye", "r_ear"},
    "l_ear": {"l_eye", "l_shoulder"},
    "r_ear": {"r_eye", "r_shoulder"},
    "l_shoulder": {"l_ear", "r_shoulder", "l_elbow", "l_hip"},
    "r_shoulder": {"r_ear", "l_shoulder", "r_elbow", "r_hip"},
    "l_elbow": {"l_shoulder", "l_wrist"},
    "r_elbow": {"r_shoulder", "r_wrist"},
    "l_wrist": {"l_elbow"},
    "r_wrist": {"r_elbow"},
    "l_hip": {"l_shoulder", "r_hip", "l_knee"},
    "r_hip": {"r_shoulder", "l_hip", "r_knee"},
    "l_knee": {"l_hip", "l_ankle"},
    "r_knee": {"r_hip", "r_ankle"},
    "l_ankle": {"l_knee"},
    "r_ankle": {"r_knee"},
}

CROWDPOSE_NAMES = ("l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
                   "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle", "head_top",
                   "neck")
# crowdpose-api/PythonAPI/crowdposetools/cocoeval.py
CROWDPOSE_SIGMAS = [.079, .079, .072, .072, .062, .062, .107, .107, .087, .087, .089, .089,
                    .079, .079]
CROWDPOSE_NEIGHBOURS = {
    "l_shoulder": {"r_shoulder", "l_elbow", "l_hip", "neck"},
    "r_shoulder": {"l_shoulder", "r_elbow", "r_hip", "neck"},
    "l_elbow": {"l_shoulder", "l_wrist"},
    "r_elbow": {"r_shoulder", "r_wrist"},
    "l_wrist": {"l_elbow"},
    "r_wrist": {"r_elbow"},
    "l_hip": {"l_shoulder", "r_hip", "l_knee"},
    "r_hip": {"r_shoulder", "l_hip", "r_knee"},
    "l_knee": {"l_hip", "l_ankle"},
    "r_knee": {"r_hip", "r_ankle"},
    "l_ankle": {"l_knee"},
    "r_ankle": {"r_knee"},
    "head_top": {"neck"},
    "neck": {"head_top", "l_shoulder", "r_shoulder"},
}


def _ours(file_name: str) -> str:
  return file_name.replace("left_", "l_").replace("right_", "r_")


def test_coco_joints_are_the_annotation_files_in_their_order():
  assert skeleton.COCO.joint_names == tuple(_ours(n) for n in COCO_FILE_NAMES)
  assert skeleton.COCO.num_joints == 17


def test_coco_flip_pairs_swap_each_left_joint_with_its_right():
  j = skeleton.COCO.joint_index
  expected = {(j[f"l_{p}"], j[f"r_{p}"]) for p in ("eye", "ear", "shoulder", "elbow", "wrist",
                                                   "hip", "knee", "ankle")}
  assert set(skeleton.COCO.flip_pairs) == expected == {(1, 2), (3, 4), (5, 6), (7, 8), (9, 10),
                                                       (11, 12), (13, 14), (15, 16)}
  perm = skeleton.COCO.flip_permutation()
  assert perm == (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)


def test_coco_limbs_are_the_official_skeleton_zero_based():
  assert {frozenset(limb) for limb in skeleton.COCO.limbs} == {
      frozenset((a - 1, b - 1)) for a, b in COCO_FILE_SKELETON}
  assert len(skeleton.COCO.limbs) == 19


@pytest.mark.parametrize("skel, by_hand", [(skeleton.COCO, COCO_NEIGHBOURS),
                                           (skeleton.CROWDPOSE, CROWDPOSE_NEIGHBOURS)])
def test_neighbour_sets_are_the_ones_written_by_hand(skel, by_hand):
  assert set(by_hand) == set(skel.joint_names)
  j = skel.joint_index
  sets, matrix = skel.neighbour_sets(), skel.neighbour_matrix()
  for name, others in by_hand.items():
    expected = {j[name]} | {j[o] for o in others}
    assert set(sets[j[name]]) == expected, name
    assert {m for m, a in enumerate(matrix[j[name]]) if a} == expected, name


@pytest.mark.parametrize("skel, sigmas", [(skeleton.COCO, COCO_SIGMAS),
                                          (skeleton.CROWDPOSE, CROWDPOSE_SIGMAS)])
def test_sigmas_are_the_official_values(skel, sigmas):
  assert skel.sigmas == pytest.approx(sigmas, abs=1e-12)
  assert len(skel.sigmas) == skel.num_joints


def test_the_metric_is_oks_ap_with_the_evaluators_ten_keys():
  for skel in (skeleton.COCO, skeleton.CROWDPOSE):
    assert skel.metric == "OKS AP" and skel.headline == "oks_ap"
    assert skel.headline_label == "OKS AP" and skel.thresholds == ()
  assert skeleton.OKS_KEYS == ("oks_ap", "oks_ap50", "oks_ap75", "oks_apm", "oks_apl",
                               "oks_ar", "oks_ar50", "oks_ar75", "oks_arm", "oks_arl")
  # The PCK skeletons keep their headline.
  assert skeleton.MPII.headline == "pckh@0.5" and skeleton.MPII.headline_label == "PCKh@0.5"
  assert skeleton.LSP.headline == "pck@0.2"


def test_crowdpose_is_one_more_entry():
  assert skeleton.CROWDPOSE.joint_names == CROWDPOSE_NAMES
  assert skeleton.get("crowdpose") is skeleton.CROWDPOSE and skeleton.get("coco") is skeleton.COCO
  j = skeleton.CROWDPOSE.joint_index
  assert skeleton.CROWDPOSE.torso == (j["l_shoulder"], j["r_hip"])
  assert skeleton.COCO.torso == (skeleton.COCO.joint_index["l_shoulder"],
                                 skeleton.COCO.joint_index["r_hip"])


def test_coco_datasets_get_the_skeleton_their_config_names():
  assert skeleton.for_dataset("coco/2017") is skeleton.COCO
  assert skeleton.for_dataset("coco/train=person_keypoints_train2017,holdout=10") is skeleton.COCO
  assert skeleton.for_dataset("coco/crowdpose") is skeleton.CROWDPOSE
  assert skeleton.for_dataset("coco/train=a,validation=b,skeleton=crowdpose") is skeleton.CROWDPOSE
  with pytest.raises(ValueError, match="unknown skeleton 'h36m'"):
    skeleton.for_dataset("coco/train=a,skeleton=h36m")
  # MPII and LSP unchanged; a 14-joint drawing without a skeleton is still LSP's.
  assert skeleton.for_dataset("lsp/extended") is skeleton.LSP
  assert skeleton.for_dataset("synthetic_people/small") is skeleton.MPII
  from msposejax import draw
  assert draw._skeleton_with(14) is skeleton.LSP and draw._skeleton_with(17) is skeleton.COCO


def test_the_sample_files_category_agrees():
  path = COCO_SAMPLE / "person_keypoints_train2017.json"
  if not path.is_file():
    pytest.skip(f"coco_sample not in {COCO_SAMPLE.resolve()} (CI has ../shared/data/coco_sample)")
  category = json.loads(path.read_text())["categories"][0]
  assert category["keypoints"] == COCO_FILE_NAMES
  assert category["skeleton"] == COCO_FILE_SKELETON
