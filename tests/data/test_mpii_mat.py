"""The official .mat reader, on a file written with the official RELEASE layout."""

import numpy as np
import scipy.io

from msposejax.data import mpii


def _struct(**fields):
  dtype = [(k, object) for k in fields]
  arr = np.zeros((1, 1), dtype=dtype)
  for k, v in fields.items():
    arr[0, 0][k] = v
  return arr


def test_official_mat_layout_is_parsed_zero_based(tmp_path):
  points = np.zeros((1, 3), dtype=[("id", object), ("x", object), ("y", object),
                                   ("is_visible", object)])
  for i, (j, x, y) in enumerate([(9, 101.0, 51.0), (8, 101.0, 81.0), (0, 91.0, 301.0)]):
    points[0, i] = (j, x, y, 1)
  rect = _struct(x1=91.0, y1=41.0, x2=111.0, y2=71.0, scale=1.5,
                 objpos=_struct(x=100.0, y=200.0), annopoints=_struct(point=points))
  anno_train = _struct(image=_struct(name="a.jpg"), annorect=rect)
  anno_test = _struct(image=_struct(name="b.jpg"), annorect=_struct(scale=1.0))
  annolist = np.zeros((1, 2), dtype=object)
  annolist[0, 0], annolist[0, 1] = anno_train, anno_test
  release = _struct(annolist=annolist, img_train=np.array([[1, 0]]))
  scipy.io.savemat(tmp_path / "mpii.mat", {"RELEASE": release})
  people = mpii.load_mat(tmp_path / "mpii.mat")
  assert len(people) == 1  # the test image (img_train 0) carries no joints
  p = people[0]
  assert p.image == "a.jpg" and p.scale == 1.5
  assert p.visible.tolist() == [j in (0, 8, 9) for j in range(16)]
  np.testing.assert_allclose(p.joints[9], [100.0, 50.0])
  np.testing.assert_allclose(p.center, [99.0, 199.0])
  np.testing.assert_allclose(p.head_box, [90.0, 40.0, 110.0, 70.0])


def test_negative_json_coordinates_mean_unlabelled(tmp_path):
  import json
  joints = [[10.0 + j, 20.0] for j in range(16)]
  joints[3] = [-1.0, -1.0]
  (tmp_path / "a.json").write_text(json.dumps(
      [{"image": "x.jpg", "center": [50, 50], "scale": 1.0, "joints": joints,
        "joints_vis": [1] * 16}]))
  (p,) = mpii.load_json(tmp_path / "a.json")
  assert not p.visible[3] and p.visible.sum() == 15 and (p.joints[3] == 0).all()
