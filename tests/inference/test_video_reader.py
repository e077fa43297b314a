"""The video reader past unreadable frames: a run of corrupt frames in the middle, a file cut
off before its end. The reader alone (no model): which frames come out, which are listed as
lost, and where."""

import cv2
import numpy as np
import pytest

from msposejax.inference import video

pytestmark = pytest.mark.xdist_group("video")
FRAMES, W, H = 30, 64, 48


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
  """A 30-frame MJPG AVI (each frame one JPEG in the file) whose frame i is filled with 8·i,
  and the byte offsets of its frames' JPEG data."""
  path = tmp_path_factory.mktemp("reader") / "clip.avi"
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
  for i in range(FRAMES):
    writer.write(np.full((H, W, 3), 8 * i, np.uint8))
  writer.release()
  data = path.read_bytes()
  starts = [i for i in range(len(data) - 2) if data[i:i + 3] == b"\xff\xd8\xff"]
  assert len(starts) == FRAMES
  return path, data, starts


def _read(path):
  skipped = []
  frames, _, count = video._video_frames(path, skipped)
  got = {index: int(np.median(frame)) for index, frame in frames}
  return got, [s["frame"] for s in skipped], count


def test_a_run_of_corrupt_frames_is_read_through(clip, tmp_path):
  path, data, starts = clip
  bad = bytearray(data)
  for k in range(10, 21):  # frames 10-20: JPEG data zeroed, the container intact
    end = data.index(b"\xff\xd9", starts[k]) + 2
    bad[starts[k]:end] = bytes(end - starts[k])
  (tmp_path / "bad.avi").write_bytes(bad)
  got, lost, count = _read(tmp_path / "bad.avi")
  assert count == FRAMES
  assert lost == list(range(10, 21))          # before: 10-19, then it stopped
  assert sorted(got) == [*range(10), *range(21, FRAMES)]  # before: frames 21-29 never read
  assert all(abs(got[i] - 8 * i) <= 2 for i in got)       # each frame is the one it says
  assert video.frame_ranges(lost) == "10-20"


def test_a_cut_off_file_lists_every_lost_frame(clip, tmp_path):
  path, data, starts = clip
  (tmp_path / "cut.avi").write_bytes(data[:starts[14] + 10])  # frame 14 on gone
  got, lost, count = _read(tmp_path / "cut.avi")
  assert sorted(got) == list(range(14)) and count == FRAMES
  assert lost == list(range(14, FRAMES))      # 16 frames lost; before: 10 reported
  assert video.frame_ranges(lost) == "14-29"


def test_frame_ranges():
  assert video.frame_ranges([]) == ""
  assert video.frame_ranges([25, 3, 4, 5, 7, 3]) == "3-5, 7, 25"
