"""`msposejax predict` and `msposejax export`: outputs checked before any work, the checkpoint
restored, the library call, a summary on stdout (IO).

A bad command line ends in `SystemExit("msposejax: ...")`: one line, before the checkpoint is
read.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any


def _fail(message: str) -> None:
  raise SystemExit(f"msposejax: {message}")


def run_command(command: tuple[str, ...], config: Any, args: Any) -> None:
  """Runs `predict` or `export` with the flag values in `args` (attributes named as flags).
  The checkpoint's own config describes the model; `predict --config C` predicts with C's
  settings (flip test, decoding, video.*) on the checkpoint's model (C must describe it)."""
  args.config = config  # predict's, or None
  if command == ("predict",) and (args.images is None) == (args.video is None):
    _fail("predict needs --images FILES or --video FILE (one of them), e.g. msposejax predict "
          "--checkpoint runs/quickstart --images photos/ --out predictions/")
  if args.box is not None and (args.video is None or len(args.box) != 4):
    _fail("--box is x1,y1,x2,y2 of the person in the first frame of --video")
  try:
    box = None if args.box is None else [float(v) for v in args.box]
  except ValueError:
    _fail(f"--box {','.join(args.box)} must be 4 numbers x1,y1,x2,y2")
  if args.video is None and (args.min_cutoff, args.beta) != (None, None):
    _fail("--min_cutoff and --beta smooth the keypoints of --video only")
  if args.min_cutoff is not None and not args.min_cutoff > 0:
    _fail(f"--min_cutoff must be > 0 (Hz), got {args.min_cutoff}")
  if args.beta is not None and not args.beta >= 0:
    _fail(f"--beta must be >= 0, got {args.beta}")
  folder = output_folder(command, args)
  check_writable(folder, "--out", args.out)
  if args.submission:
    check_writable(os.path.dirname(os.path.abspath(os.path.expanduser(args.submission))),
                   "--submission", args.submission)
  if command == ("export",):
    return _export(args)
  from msposejax.inference.predict_files import LOCK_FILE, output_lock
  name = LOCK_FILE if folder == args.out else f".{os.path.basename(args.out)}{LOCK_FILE}"
  with output_lock(folder, name):  # a second predict on one --out is refused before restoring
    if args.video is not None:
      _video(_predictor(args), args, box)
    else:
      _images(_predictor(args), args)


def output_folder(command: tuple[str, ...], args: Any) -> str:
  """The folder --out writes into: --out itself, or the folder of a --video output file."""
  from msposejax.inference.video import writes_video_file  # (JAX: after the checks of flags)
  if command == ("predict",) and args.video is not None and writes_video_file(args.out):
    return os.path.dirname(os.path.abspath(os.path.expanduser(args.out)))
  return args.out


def check_writable(folder: str, flag: str, value: str) -> None:
  """Creates `folder` (where `flag`'s `value` writes) and writes and removes a file in it,
  before any work: a read-only, full or mistyped output location is one line now, not a
  traceback after the work (the ONNX export's comes after half a minute of conversion)."""
  path = os.path.expanduser(folder)
  where = "" if os.path.abspath(path) == os.path.abspath(os.path.expanduser(value)) \
      else f" (in {folder})"
  try:
    if os.path.exists(path) and not os.path.isdir(path):
      raise NotADirectoryError(f"{folder} is a file, not a folder" if where
                               else "it is a file, not a folder")
    os.makedirs(path, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path, prefix=".msposejax-write-check-"):
      pass
  except OSError as e:
    _fail(f"cannot write {flag} {value}{where}: {e.strerror or e}")


def _predictor(args: Any):
  from msposejax.inference.predictor import Predictor
  return Predictor.from_checkpoint(args.checkpoint, step=args.step, config=args.config)


def _export(args: Any) -> None:
  if args.format == "onnx":
    from msposejax.inference.onnx_export import export_onnx as export
  else:
    from msposejax.inference.export import export_predictor as export
  print(f"wrote {export(_predictor(args), args.out)}")


def _video(predictor, args: Any, box: list[float] | None) -> None:
  from msposejax.inference.tracking import VideoSettings
  from msposejax.inference.video import predict_video
  given = {f: getattr(args, f) for f in ("min_cutoff", "beta") if getattr(args, f) is not None}
  settings = dataclasses.replace(VideoSettings.from_config(predictor.config), **given)
  result = predict_video(predictor, args.video, args.out, box, settings=settings)
  lost = f" (frames {result['lost']})" if result["lost"] else ""
  print(f"{len(result['frames'])} frames -> {args.out} and {result['json']}; skipped "
        f"{len(result['skipped'])} unreadable frames{lost}")


def _images(predictor, args: Any) -> None:
  from msposejax.inference.predict_files import predict_files
  result = predict_files(predictor, args.images, args.out, args.boxes,
                         submission=args.submission, detections_path=args.detections,
                         min_box_score=args.min_box_score)
  people = sum(len(v) for v in result["images"].values())
  print(f"{_count(people, 'person', 'people')} in {_count(len(result['images']), 'image')} -> "
        f"{args.out}; skipped {_count(len(result['skipped']), 'unreadable image')} and "
        f"{_count(len(result['skipped_boxes']), 'bad box', 'bad boxes')}")
  if result["whole_image"]:
    print(f"{_count(len(result['whole_image']), 'image')} had no boxes: each whole image was "
          "taken as one person (give --boxes or --detections for the people in them)")
  if "dropped_detections" in result:
    print(f"detections dropped: {result['dropped_detections']}")


def _count(n: int, one: str, many: str | None = None) -> str:
  """"1 image", "3 images"."""
  return f"{n} {one if n == 1 else many or one + 's'}"
