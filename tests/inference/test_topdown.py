"""Person boxes for top-down COCO evaluation: ground truth as training keeps it, detections
files read and checked (`inference/topdown.py`). References built by hand here."""

from __future__ import annotations

import json

import pytest

from msposejax.inference import topdown

GT = {
    "images": [{"id": 1, "file_name": "a.jpg", "width": 100, "height": 80},
               {"id": 2, "file_name": "b.jpg", "width": 50, "height": 50}],
    "annotations": [
        # kept: clipped to the photo as mmpose clips (x2 = min(x + w, W − 1))
        {"id": 10, "image_id": 1, "category_id": 1, "iscrowd": 0, "area": 900,
         "bbox": [-5, 10, 50, 90], "keypoints": [20, 30, 2] + [0, 0, 0] * 16},
        {"id": 11, "image_id": 1, "category_id": 1, "iscrowd": 1, "area": 900,  # crowd
         "bbox": [0, 0, 30, 30], "keypoints": [5, 5, 2] + [0, 0, 0] * 16},
        {"id": 12, "image_id": 2, "category_id": 1, "iscrowd": 0, "area": 400,  # no keypoint
         "bbox": [0, 0, 20, 20], "keypoints": [0, 0, 0] * 17},
        {"id": 13, "image_id": 2, "category_id": 1, "iscrowd": 0, "area": 400,  # v = 1 counts
         "bbox": [10, 10, 20, 20], "keypoints": [15, 15, 1] + [0, 0, 0] * 16},
        {"id": 14, "image_id": 2, "category_id": 1, "iscrowd": 0, "area": 0,  # no area
         "bbox": [10, 10, 20, 20], "keypoints": [15, 15, 2] + [0, 0, 0] * 16},
        {"id": 15, "image_id": 2, "category_id": 1, "iscrowd": 0, "area": 50,  # outside
         "bbox": [60, 10, 20, 20], "keypoints": [65, 15, 2] + [0, 0, 0] * 16},
    ],
}


def test_ground_truth_boxes_are_the_instances_training_keeps():
  boxes = topdown.ground_truth_boxes(GT)
  assert [(b.image_id, b.box, b.score) for b in boxes] == [
      (1, (0.0, 10.0, 45.0, 69.0), 1.0), (2, (10.0, 10.0, 20.0, 20.0), 1.0)]
  assert boxes[0].corners() == (0.0, 10.0, 45.0, 79.0)


def _write(tmp_path, entries):
  path = tmp_path / "dets.json"
  path.write_text(json.dumps(entries))
  return path


def test_detections_keep_every_person_box_unless_a_score_cut_is_asked(tmp_path):
  path = _write(tmp_path, [
      {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.9},
      {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4], "score": 0.01},
      {"image_id": 2, "category_id": 3, "bbox": [1, 2, 3, 4], "score": 0.9},
      {"image_id": 2, "category_id": 1, "bbox": [1, 2, 0, 4], "score": 0.9}])
  boxes, dropped = topdown.read_detections(path, [1, 2])
  assert [(b.image_id, b.score) for b in boxes] == [(1, 0.9), (1, 0.01)]
  assert dropped == {"other_category": 1, "empty_box": 1}
  boxes, dropped = topdown.read_detections(path, [1, 2], min_score=0.05)
  assert [b.score for b in boxes] == [0.9]
  assert dropped == {"below_min_score": 1, "other_category": 1, "empty_box": 1}


@pytest.mark.parametrize("entries, message", [
    ({"image_id": 1}, "expected a list"),
    ([{"image_id": 1, "bbox": [1, 2, 3, 4]}], "entry 0 is not"),
    ([{"image_id": 1, "bbox": [1, 2, 3], "score": 1}], "entry 0 has a bbox"),
    ([{"image_id": 1, "bbox": [1, 2, float("nan"), 4], "score": 1}], "entry 0 has a bbox"),
    ([{"image_id": 1, "bbox": [1, 2, 3, 4], "score": 1},
      {"image_id": 7, "bbox": [1, 2, 3, 4], "score": 1}], "entry 1 is of image 7"),
])
def test_a_bad_detections_file_is_one_line_naming_the_entry(tmp_path, entries, message):
  with pytest.raises(ValueError, match=message) as e:
    topdown.read_detections(_write(tmp_path, entries), [1, 2])
  assert "\n" not in str(e.value)


def test_an_unreadable_detections_file_is_one_line(tmp_path):
  (tmp_path / "dets.json").write_text("[{")
  with pytest.raises(ValueError, match="cannot read detections file"):
    topdown.read_detections(tmp_path / "dets.json")
