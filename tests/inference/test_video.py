"""`predict --video`: a short video the test makes from a real photo (a person panning
across the frame), followed, smoothed, written as a video and JSON; bad frames and files."""

import io
import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from msposejax.data.features import decode_image
from msposejax.inference.predictor import Predictor
from msposejax.inference.tracking import VideoSettings, box_side, next_box
from msposejax.inference import video
from msposejax.inference.video import predict_video
from tests.conftest import REPO

pytestmark = pytest.mark.xdist_group("video")
PHOTO = REPO / "tests" / "fixtures" / "mpii_sample" / "052475643.jpg"
FRAMES, W, H = 12, 240, 180


def _frames():
  """The photo, shrunk, shifted 6 px right per frame: (FRAMES, H, W, 3) uint8 RGB."""
  photo = cv2.resize(decode_image(PHOTO.read_bytes()), (W + 6 * FRAMES, H))
  return [np.ascontiguousarray(photo[:, 6 * i:6 * i + W]) for i in range(FRAMES)]


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
  path = tmp_path_factory.mktemp("video") / "walk.avi"
  writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10.0, (W, H))
  for frame in _frames():
    writer.write(frame[..., ::-1])
  writer.release()
  return path


@pytest.fixture(scope="module")
def predictor(tiny_run):
  return Predictor.from_checkpoint(tiny_run[0])


def _read(path):
  capture = cv2.VideoCapture(str(path))
  frames = []
  while True:
    ok, frame = capture.read()
    if not ok:
      return frames, capture.get(cv2.CAP_PROP_FPS)
    frames.append(frame)


def test_video_is_followed_smoothed_and_written(predictor, clip, tmp_path):
  settings = VideoSettings(min_score=0.0, min_joints=4, beta=0.5)
  first = (60.0, 10.0, 160.0, 170.0)
  result = predict_video(predictor, str(clip), str(tmp_path / "out.mp4"), first_box=first,
                         settings=settings, progress=False)
  assert [f["frame"] for f in result["frames"]] == list(range(FRAMES)) and not result["skipped"]
  assert result["fps"] == pytest.approx(10.0)
  frames = result["frames"]
  assert frames[0]["box"] == list(first)
  for before, now in zip(frames, frames[1:]):  # each box from the frame before's keypoints
    previous = None if before["box"] is None else tuple(before["box"])
    keypoints = np.array(before["keypoints"])
    want = next_box(previous, keypoints, np.array(before["scores"]), (H, W), settings)
    # The JSON rounds keypoints to 0.01 px (±0.005): the box's centre inherits that, its
    # extent that times how much the box magnifies the joints' spread (max_change clipping).
    zoom = max(box_side((H, W), tuple(now["box"])) / np.ptp(keypoints, axis=0).max(), 1.0)
    np.testing.assert_allclose(now["box"], want, atol=0.005 * (1 + 2 * zoom))
  raw = np.array([f["keypoints"] for f in frames])
  smooth = np.array([f["smoothed"] for f in frames])
  np.testing.assert_allclose(smooth[0], raw[0], atol=0.01)   # the filter starts on the data
  # Smoothing: less frame-to-frame motion than the raw track, never outside its range.
  assert np.abs(np.diff(smooth, axis=0)).sum() < np.abs(np.diff(raw, axis=0)).sum()
  assert (smooth >= raw.min(0) - 0.01).all() and (smooth <= raw.max(0) + 0.01).all()
  written, fps = _read(tmp_path / "out.mp4")
  assert len(written) == FRAMES and written[0].shape == (H, W, 3) and fps == pytest.approx(10)
  saved = json.loads((tmp_path / "out.json").read_text())
  assert saved["frames"] == frames and saved["joint_names"] == list(predictor.joint_names())


def test_folder_of_frames_skips_unreadable_ones(predictor, tmp_path):
  folder = tmp_path / "frames"
  folder.mkdir()
  for i, frame in enumerate(_frames()[:4]):
    cv2.imwrite(str(folder / f"{i:03d}.png"), frame[..., ::-1])
  (folder / "002.png").write_bytes(b"\x89PNG broken")
  result = predict_video(predictor, str(folder), str(tmp_path / "annotated"), progress=False)
  assert [f["frame"] for f in result["frames"]] == [0, 1, 3]
  assert [s["file"] for s in result["skipped"]] == ["002.png"]
  assert result["fps"] == VideoSettings().fps and result["frames"][0]["box"] is None
  assert sorted(p.name for p in (tmp_path / "annotated").iterdir()) == [
      "000000.png", "000001.png", "000003.png", "keypoints.json"]


def test_unreadable_video_is_a_clear_error(predictor, clip, tmp_path):
  broken = tmp_path / "broken.mp4"
  broken.write_bytes(clip.read_bytes()[:200])
  with pytest.raises(ValueError, match="cannot open video|no readable frame"):
    predict_video(predictor, str(broken), str(tmp_path / "o.mp4"), progress=False)
  with pytest.raises(FileNotFoundError, match="no video or folder"):
    predict_video(predictor, str(tmp_path / "missing.mp4"), str(tmp_path / "o.mp4"))
  assert not (tmp_path / "o.json").exists()


def test_cli_predicts_a_video_with_a_first_box_and_its_own_smoothing(tiny_run, clip, tmp_path):
  out = tmp_path / "cli.mp4"
  proc = subprocess.run([sys.executable, "-m", "msposejax.main", "predict", "--checkpoint",
                         str(tiny_run[0]), "--video", str(clip), "--box", "60,10,160,170",
                         "--min_cutoff", "0.1", "--beta", "0", "--out", str(out)],
                        capture_output=True, text=True, cwd=REPO)
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert f"{FRAMES} frames -> {out}" in proc.stdout
  assert f"frame {FRAMES}/{FRAMES}" in proc.stderr and "frames/s" in proc.stderr
  assert "\r" not in proc.stderr  # a pipe gets whole lines, no carriage returns
  result = json.loads(out.with_suffix(".json").read_text())
  assert result["frames"][0]["box"] == [60, 10, 160, 170]
  # --beta 0 makes the One-Euro filter a fixed low-pass at --min_cutoff (Casiez et al. 2012):
  # x̂_t = a x_t + (1 - a) x̂_{t-1}, a = 1 / (1 + τ / T), τ = 1 / (2π f_c), T = 1 / fps.
  raw = np.array([f["keypoints"] for f in result["frames"]], np.float64)
  a = 1 / (1 + (1 / (2 * np.pi * 0.1)) * 10.0)
  want = [raw[0]]
  for x in raw[1:]:
    want.append(a * x + (1 - a) * want[-1])
  np.testing.assert_allclose([f["smoothed"] for f in result["frames"]], want, atol=0.02)
  # so much smoothing that the track barely moves: far less than the raw keypoints do
  assert np.abs(np.diff(want, axis=0)).sum() < 0.2 * np.abs(np.diff(raw, axis=0)).sum()


class _Stream(io.StringIO):

  def __init__(self, tty):
    super().__init__()
    self.tty = tty

  def isatty(self):
    return self.tty


def test_progress_rewrites_its_line_on_a_terminal_only(monkeypatch):
  clock = iter(np.arange(0.0, 100.0, 0.75))  # 0.75 s per frame
  monkeypatch.setattr(video.time, "perf_counter", lambda: float(next(clock)))
  for tty in (True, False):
    stream = _Stream(tty)
    bar = video._Progress(40, stream)
    for done in range(1, 41):
      bar.update(done)
    bar.update(40, final=True)
    text = stream.getvalue()
    assert text.endswith("frame 40/40  1.3 frames/s\n")
    if tty:  # each update rewrites the line (every frame: 0.75 s > 0.5 s)
      assert text.count("\r") == 41 and text.count("\n") == 1
    else:  # a log file: whole lines, one per 10 s (frames 14 and 28) and the last
      assert "\r" not in text and text.startswith("frame 14/40") and text.count("\n") == 3
