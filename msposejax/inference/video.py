"""`msposejax predict --video`: one person followed through a video or a folder of frames (IO).

    msposejax predict --checkpoint runs/quickstart --video in.mp4 --out out.mp4 [--box x1,y1,x2,y2]

Each frame's person box comes from the previous frame's confident keypoints (the first
frame: --box, else the whole frame; `tracking.next_box`); keypoints are smoothed with a
One-Euro filter (`tracking.py`; its parameters: `settings`, default config.video of the
checkpoint). Writes the annotated video (OUT ending in .mp4/.avi/.mov; otherwise a folder of
annotated PNG frames) and OUT's .json: per-frame raw and smoothed keypoints, scores and the
box used. Unreadable frames are reported and skipped.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import pathlib
import sys
import time
from typing import Any, Iterator, Sequence, TextIO

import cv2
import numpy as np
from PIL import Image

from msposejax.data.features import decode_image
from msposejax.draw import draw_skeleton
from msposejax.inference.predict_files import IMAGE_SUFFIXES
from msposejax.inference.predictor import Predictor
from msposejax.inference.tracking import OneEuroFilter, VideoSettings, box_side, next_box

_log = logging.getLogger(__name__)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
_WRITE_CODECS = {".mp4": "mp4v", ".mov": "mp4v", ".avi": "MJPG"}
MAX_FAILURES_WITHOUT_COUNT = 10  # a video without a frame count ends after this many bad reads


def writes_video_file(out: str) -> bool:
  """Whether OUT names a video file (its folder is written into), not a folder of frames."""
  return pathlib.Path(out).suffix.lower() in VIDEO_SUFFIXES


def frame_ranges(frames: Sequence[int]) -> str:
  """"10-20, 25" for frames 10 to 20 and 25: where a video lost frames, in one short line."""
  runs: list[list[int]] = []
  for f in sorted(set(frames)):
    if runs and f == runs[-1][1] + 1:
      runs[-1][1] = f
    else:
      runs.append([f, f])
  return ", ".join(f"{a}-{b}" if b > a else f"{a}" for a, b in runs)


def _video_frames(path: pathlib.Path, skipped: list) -> tuple[Iterator, float, int]:
  capture = cv2.VideoCapture(str(path))
  if not capture.isOpened():
    raise ValueError(f"cannot open video {path}: not a video file OpenCV can decode")
  fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
  count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT) or 0)

  def frames():
    index = 0
    failures = 0
    try:
      while True:
        ok, bgr = capture.read()
        if ok:
          failures = 0
          yield index, bgr[..., ::-1].copy()
        # The end: the frame count the container gives (a decoder moves past a corrupt frame,
        # so runs of them are read through, and a cut-off file's lost tail is counted), or,
        # without a count, ten bad frames in a row.
        elif index >= count if count > 0 else failures >= MAX_FAILURES_WITHOUT_COUNT:
          return
        else:
          failures += 1
          skipped.append({"frame": index, "reason": "the decoder returned no frame"})
          _log.warning("skipping frame %d of %s: the decoder returned no frame", index, path)
        index += 1
    finally:
      capture.release()

  return frames(), fps, count


def _folder_frames(path: pathlib.Path, skipped: list) -> tuple[Iterator, float, int]:
  files = sorted(f for f in path.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
  if not files:
    raise ValueError(f"{path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")

  def frames():
    for index, f in enumerate(files):
      try:
        yield index, decode_image(f.read_bytes())
      except (OSError, ValueError) as e:
        skipped.append({"frame": index, "file": f.name, "reason": str(e)})
        _log.warning("skipping frame %s: %s", f, e)

  return frames(), 0.0, len(files)


class _Progress:
  """Frames done, of how many, frames/s, on stderr. On a terminal one line rewritten in place
  (twice a second); into a pipe or a log file, whole lines: one every 10 s and the last, never
  a carriage return."""

  def __init__(self, total: int, stream: TextIO | None = None):
    self.total = total
    self.start = self.last = time.perf_counter()
    self.stream = stream or sys.stderr
    self.in_place = self.stream.isatty()

  def update(self, done: int, final: bool = False) -> None:
    now = time.perf_counter()
    if not final and now - self.last < (0.5 if self.in_place else 10.0):
      return
    self.last = now
    rate = done / max(now - self.start, 1e-9)
    of = f"/{self.total}" if self.total else ""
    line = f"frame {done}{of}  {rate:.1f} frames/s"
    self.stream.write(f"\r{line}" + ("\n" if final else "") if self.in_place else line + "\n")
    self.stream.flush()


class _Writer:
  """The annotated output: a video file, or PNG frames in a folder."""

  def __init__(self, out: pathlib.Path, fps: float):
    self.out, self.fps, self.video = out, fps, None
    self.is_video = out.suffix.lower() in _WRITE_CODECS
    if out.suffix.lower() in VIDEO_SUFFIXES and not self.is_video:
      raise ValueError(f"cannot write {out.suffix} videos; use one of {sorted(_WRITE_CODECS)}")
    (out.parent if self.is_video else out).mkdir(parents=True, exist_ok=True)

  def write(self, index: int, frame: np.ndarray) -> None:
    if not self.is_video:
      Image.fromarray(frame).save(self.out / f"{index:06d}.png")
      return
    if self.video is None:
      h, w = frame.shape[:2]
      codec = cv2.VideoWriter_fourcc(*_WRITE_CODECS[self.out.suffix.lower()])
      self.video = cv2.VideoWriter(str(self.out), codec, self.fps, (w, h))
      if not self.video.isOpened():
        raise ValueError(f"OpenCV cannot write {self.out}")
      self.size = (w, h)
    if frame.shape[1::-1] != self.size:  # a folder's frames of another size: fit them in
      frame = cv2.resize(frame, self.size)
    self.video.write(np.ascontiguousarray(frame[..., ::-1]))

  def close(self) -> None:
    if self.video is not None:
      self.video.release()


def predict_video(predictor: Predictor, source: str, out: str,
                  first_box: Sequence[float] | None = None,
                  settings: VideoSettings | None = None, progress: bool = True
                  ) -> dict[str, Any]:
  """Follows one person through `source` (a video file or a folder of frames).

  Args:
    first_box: (x1, y1, x2, y2) of the person in the first frame; None: the whole frame.
    settings: tracking and smoothing; default config.video of the checkpoint.

  Returns the JSON written next to OUT: {"fps", "frames": [{"frame", "box", "keypoints",
  "smoothed", "scores"}, ...], "skipped": [{"frame", "reason"}, ...], "lost": the skipped
  frames as ranges ("10-20, 25"), ...}. A video is read to its frame count, past runs of
  unreadable frames.

  Raises:
    ValueError: the source cannot be opened or holds no frames; OUT's format is unknown.
  """
  settings = settings or VideoSettings.from_config(predictor.config)
  src, out_path = pathlib.Path(source).expanduser(), pathlib.Path(out).expanduser()
  if not src.exists():
    raise FileNotFoundError(f"no video or folder of frames at {src}")
  skipped: list[dict] = []
  frames, fps, count = (_folder_frames if src.is_dir() else _video_frames)(src, skipped)
  fps = fps if fps > 0 else settings.fps
  writer = _Writer(out_path, fps)
  smoother = OneEuroFilter(settings)
  box = None if first_box is None else tuple(float(v) for v in first_box)
  result: dict[str, Any] = {"source": str(src), "fps": fps, "skeleton": predictor.skeleton.name,
                            "joint_names": list(predictor.joint_names()),
                            "settings": dataclasses.asdict(settings), "frames": [],
                            "skipped": skipped}
  bar = _Progress(count) if progress else None
  try:
    for index, frame in frames:
      person = predictor.predict([frame], [box])[0]
      keypoints, scores = person["keypoints"], person["scores"]
      smoothed = smoother(keypoints, t=index / fps, box_side=box_side(frame.shape, box))
      result["frames"].append({"frame": index, "box": None if box is None else list(box),
                               "keypoints": keypoints.round(2).tolist(),
                               "smoothed": smoothed.round(2).tolist(),
                               "scores": scores.round(4).tolist()})
      writer.write(index, draw_skeleton(frame, smoothed, scores, settings.min_score,
                                        skel=predictor.skeleton))
      box = next_box(box, keypoints, scores, frame.shape, settings)
      if bar:
        bar.update(len(result["frames"]))
  finally:
    writer.close()
  if bar:
    bar.update(len(result["frames"]), final=True)
  result["lost"] = frame_ranges([s["frame"] for s in skipped])
  if not result["frames"]:
    raise ValueError(f"no readable frame in {src} ({len(skipped)} skipped)")
  json_path = out_path.with_suffix(".json") if writer.is_video else out_path / "keypoints.json"
  json_path.write_text(json.dumps(result, indent=1))
  result["json"] = str(json_path)
  return result

