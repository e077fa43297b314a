"""The `msposejax` command line: `msposejax COMMAND [--flag=value ...]`.

`msposejax --help` lists the commands (`commands.py`), `msposejax COMMAND --help` its flags.
Each flag has one meaning in every command that takes it; a command given a flag it does not
take says so in one line. Nothing heavy is imported before a command needs it.
"""

from __future__ import annotations

import json
import logging
import os
import sys

from absl import app, flags
from absl import logging as absl_logging
from ml_collections import config_flags

from msposejax import commands

_CONFIG = config_flags.DEFINE_config_file("config", None, "An ml_collections config file "
                                          "(configs/*.py).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "A training run's directory: checkpoints, "
                               "logs, metrics, results.")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "A trained model: a training workdir "
                                  "(its best step, else its latest) or one step's directory "
                                  "(WORKDIR/checkpoints/N).")
_STEP = flags.DEFINE_integer("step", None, "The checkpoint step to use (default: the best "
                             "step by the validation metric, else the latest).")
_TORCH_WEIGHTS = flags.DEFINE_string("torch_weights", None, "A princeton-vl PyTorch "
                                     "stacked-hourglass state dict (.pt/.pth).")
_IMAGES = flags.DEFINE_list("images", None, "Image files and/or folders of images.")
_BOXES = flags.DEFINE_string("boxes", None, "JSON {image name: [[x1,y1,x2,y2], ...] or "
                             "[{\"center\": [x, y], \"scale\": s}, ...]}; without it each "
                             "whole image is one person.")
_DETECTIONS = flags.DEFINE_string("detections", None, "A person detector's boxes in COCO's "
                                  "results format ([{\"image_id\", \"bbox\": [x, y, w, h], "
                                  "\"score\"}, ...], HRNet's detections files), matched to "
                                  "the photos by COCO image id (000000000790.jpg is 790) or "
                                  "\"file_name\".")
_MIN_BOX_SCORE = flags.DEFINE_float("min_box_score", 0.0, "Detections scoring below it are "
                                    "dropped.")
_VIDEO = flags.DEFINE_string("video", None, "A video file (.mp4, .avi, ...) or a folder of "
                             "frames: one person followed from frame to frame, keypoints "
                             "smoothed (config.video of the checkpoint).")
_BOX = flags.DEFINE_list("box", None, "x1,y1,x2,y2: the person in the first video frame "
                         "(default: the whole frame).")
_FORMAT = flags.DEFINE_enum("format", "stablehlo", ["stablehlo", "onnx"], "stablehlo: "
                            "model.jaxexport for jax.export; onnx: model.onnx for "
                            "onnxruntime (pip install 'msposejax[export]').")
_SUBMISSION = flags.DEFINE_string("submission", None, "Also write MPII's submission .mat "
                                  "(pos_pred_src, 1-based) of all people, in image order.")
_PREDICTIONS = flags.DEFINE_string("predictions", None, "Predictions to score: MPII: .h5 "
                                   "`preds`, .mat `pos_pred_src`, or msposejax predict JSON; "
                                   "COCO: a keypoint results JSON from any codebase.")
_GROUND_TRUTH = flags.DEFINE_string("ground-truth", None, "MPII validation ground truth "
                                    "(detections_our_format.mat or valid.h5), or a COCO-format "
                                    "annotation JSON (COCO, CrowdPose, OCHuman, your own).")
_JSON = flags.DEFINE_string("json", None, "Also write the report as JSON here.")
_SPLIT = flags.DEFINE_string("split", "train", "The dataset split to draw.")
_NUM = flags.DEFINE_integer("num", 16, "How many examples.")
_OUT = flags.DEFINE_string("out", None, "Where the output goes: a folder (predict, export, "
                           "import-torch) or a PNG file (data show, default grid.png).")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False,
                                  "Call jax.distributed.initialize() with cluster auto-detection "
                                  "(Cloud TPU pods, SLURM); launch/tpu.sh sets it.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "Multi-process: host:port of process 0, with --num_processes "
                                   "and --process_id (e.g. several local CPU processes).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-process: process count.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-process: this process's id.")
_FLAGS = (_CONFIG, _WORKDIR, _CHECKPOINT, _STEP, _TORCH_WEIGHTS, _IMAGES, _BOXES, _DETECTIONS,
          _MIN_BOX_SCORE, _VIDEO, _BOX,
          _FORMAT, _SUBMISSION, _PREDICTIONS, _GROUND_TRUTH, _JSON, _SPLIT, _NUM, _OUT,
          _DISTRIBUTED, _COORDINATOR, _NUM_PROCESSES, _PROCESS_ID)


def _init_distributed() -> None:
  import jax
  if _COORDINATOR.value:
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  elif _DISTRIBUTED.value:
    jax.distributed.initialize()  # cluster auto-detection (Cloud TPU pod, SLURM)


def _usage_error(message: str) -> None:
  """One line on stderr, exit 1 (absl's UsageError would print every flag first)."""
  sys.exit(f"msposejax: {message}")


def _check_command(command: tuple[str, ...]) -> None:
  """Flags the command does not take, missing required flags and configs: one line each."""
  spec = commands.COMMANDS[command]
  given = [h.name for h in _FLAGS if flags.FLAGS[h.name].present]
  problem = commands.misused_flags(command, given)
  if problem:
    _usage_error(problem)
  missing = [f for f in spec.required if not flags.FLAGS[f].present]
  if missing:
    _usage_error(f"{commands.name(command)} needs "
                         f"{' and '.join('--' + f for f in missing)}, e.g. {spec.example}")
  if spec.config == "required" and _CONFIG.value is None:
    _usage_error(f"{commands.name(command)} needs --config FILE, e.g. {spec.example}")


# Library warnings that say nothing a user can act on, printed by every predict, eval and
# export: orbax opening a checkpoint read-only (4 lines), and the ONNX serialiser skipping
# the types of constant shapes (32 lines for the COCO CPU model, #27 item 13).
_LIBRARY_NOTES = ("CheckpointManagerOptions.read_only=True", "Given directory is read only",
                  "The value type for shape")


class _DropLibraryNotes(logging.Filter):

  def filter(self, record: logging.LogRecord) -> bool:
    message = record.getMessage()
    if record.name == "asyncio" and message.startswith(("Future exception was never retrieved",
                                                        "Task exception was never retrieved")):
      return False  # the reads of a restore abandoned on a damaged checkpoint, said in one line
    return record.levelno >= logging.ERROR or not message.startswith(_LIBRARY_NOTES)


def main(argv: list[str]) -> None:
  command = tuple(argv[1:])
  if command not in commands.COMMANDS:
    _usage_error(f"unknown command {' '.join(argv[1:]) or '(none)'}; "
                         f"`msposejax --help` lists the commands")
  _check_command(command)
  # Library INFO reaches a training's log file (training/log_file.py), never the console:
  # not even before that file is open (JAX's first backend lookup logs each platform it
  # could not start), nor in commands without a workdir (newer orbax releases, e.g. the
  # Python 3.12 stack's, log every restore at INFO through absl's handler).
  absl_logging.get_absl_handler().setLevel(logging.WARNING)
  absl_logging.get_absl_handler().addFilter(_DropLibraryNotes())
  if command == ("score",):
    from msposejax import score_command
    sys.exit(score_command.run(_PREDICTIONS.value, _GROUND_TRUTH.value, _JSON.value))
  if command in (("predict",), ("export",)):
    _inference(command)
    return
  logging.getLogger().setLevel(logging.INFO)
  config = _CONFIG.value
  if command == ("describe",):
    from msposejax.describe import describe
    print(json.dumps(describe(config), indent=1))
  elif command == ("data", "prepare"):
    from msposejax.data import pipeline
    pipeline.prepare(config)
    print(f"prepared {config.data.dataset} in {pipeline.data_dir(config)}")
  elif command == ("data", "show"):
    from msposejax.data import show
    print(f"wrote {show.save(config, _SPLIT.value, _NUM.value, _OUT.value or 'grid.png')}")
  elif command == ("import-torch",):
    _import_torch(config)
  else:
    _init_distributed()
    from msposejax.training import loop
    if command == ("train",):
      loop.train(config, _WORKDIR.value)
    else:
      loop.evaluate_checkpoint(config, _WORKDIR.value, _STEP.value)


def _inference(command: tuple[str, ...]) -> None:
  if command == ("predict",) and (_IMAGES.value is None) == (_VIDEO.value is None):
    _usage_error("predict needs --images FILES or --video FILE (one of them), e.g. "
                 + commands.COMMANDS[command].example)
  if _BOX.value is not None and (_VIDEO.value is None or len(_BOX.value) != 4):
    _usage_error("--box is x1,y1,x2,y2 of the person in the first frame of --video")
  _check_writable(_output_folder(command), "--out", _OUT.value)
  if _SUBMISSION.value:
    _check_writable(os.path.dirname(os.path.abspath(os.path.expanduser(_SUBMISSION.value))),
                    "--submission", _SUBMISSION.value)
  if command == ("predict",):
    from msposejax.inference.predict_files import LOCK_FILE, output_lock
    folder = _output_folder(command)
    name = LOCK_FILE if folder == _OUT.value else f".{os.path.basename(_OUT.value)}{LOCK_FILE}"
    with output_lock(folder, name):  # a second predict on one --out is refused before restoring
      _predict(command)
  else:
    _predict(command)


def _output_folder(command: tuple[str, ...]) -> str:
  """The folder --out writes into: --out itself, or the folder of a --video output file."""
  from msposejax.inference.video import writes_video_file
  if command == ("predict",) and _VIDEO.value is not None and writes_video_file(_OUT.value):
    return os.path.dirname(os.path.abspath(os.path.expanduser(_OUT.value)))
  return _OUT.value


def _check_writable(folder: str, flag: str, value: str) -> None:
  """Creates `folder` (where `flag`'s `value` writes) and writes and removes a file in it,
  before any work: a read-only, full or mistyped output location is one line now, not a
  traceback after the work (the ONNX export's comes after half a minute of conversion)."""
  import tempfile
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
    _usage_error(f"cannot write {flag} {value}{where}: {e.strerror or e}")


def _predict(command: tuple[str, ...]) -> None:
  from msposejax.inference.predictor import Predictor
  predictor = Predictor.from_checkpoint(_CHECKPOINT.value, step=_STEP.value)
  if command == ("export",):
    if _FORMAT.value == "onnx":
      from msposejax.inference.onnx_export import export_onnx as export
    else:
      from msposejax.inference.export import export_predictor as export
    print(f"wrote {export(predictor, _OUT.value)}")
    return
  if _VIDEO.value is not None:
    from msposejax.inference.video import predict_video
    try:
      box = None if _BOX.value is None else [float(v) for v in _BOX.value]
    except ValueError:
      _usage_error(f"--box {','.join(_BOX.value)} must be 4 numbers x1,y1,x2,y2")
    result = predict_video(predictor, _VIDEO.value, _OUT.value, box)
    lost = f" (frames {result['lost']})" if result["lost"] else ""
    print(f"{len(result['frames'])} frames -> {_OUT.value} and {result['json']}; skipped "
          f"{len(result['skipped'])} unreadable frames{lost}")
    return
  from msposejax.inference.predict_files import predict_files
  result = predict_files(predictor, _IMAGES.value, _OUT.value, _BOXES.value,
                         submission=_SUBMISSION.value, detections_path=_DETECTIONS.value,
                         min_box_score=_MIN_BOX_SCORE.value)
  print(f"{sum(len(v) for v in result['images'].values())} people in {len(result['images'])} "
        f"images -> {_OUT.value}; skipped {len(result['skipped'])} unreadable images and "
        f"{len(result['skipped_boxes'])} bad boxes")
  if result["whole_image"]:
    print(f"{len(result['whole_image'])} images had no boxes: each whole image was taken as "
          f"one person (give --boxes or --detections for the people in them)")
  if "dropped_detections" in result:
    print(f"detections dropped: {result['dropped_detections']}")


def _import_torch(config) -> None:
  from msposejax.interop.torch_import import import_torch
  report = import_torch(_TORCH_WEIGHTS.value, config, _OUT.value)
  # "mss_head_r16", "msr": the kinds of new modules, not each stack's copy.
  new_modules = sorted({parts[2] if parts[1].startswith("stack") else parts[1]
                        for parts in (p.split("/") for p in report["new"])})
  print(f"wrote {report['path']}: {len(report['loaded'])} arrays loaded, {len(report['new'])} "
        f"new{' (' + ', '.join(new_modules) + ')' if new_modules else ''}, "
        f"{len(report['unused'])} unused PyTorch keys (num_batches_tracked, unused skip_layer)")


def parse_flags(argv: list[str]) -> list[str]:
  """Parses flags and validates the config; a bad one ends in one actionable line.

  Used as absl's `flags_parser`, so a missing file, a misspelt field or a wrong value never
  surfaces as a traceback from inside absl or ml_collections.
  """
  from msposejax.config_checks import validate_config
  from msposejax.config_files import config_path_in, load_config
  try:
    path = config_path_in(argv)
    if path:  # a broken file gets one line naming it, before absl loads it again
      load_config(path)
    rest = flags.FLAGS(argv)
    if _CONFIG.value is not None:
      validate_config(_CONFIG.value)
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError, OSError) as e:
    sys.exit("msposejax: bad command line or config: " + _one_line(e))
  return rest


def _one_line(error: BaseException) -> str:
  """An error's message on one line. KeyErrors from ml_collections arrive as a repr
  ("'x'\\nDid you mean ..."): only a message quoted as a whole is unquoted, so one that
  merely ends in a quoted value (`... base 10: 'abc'`) keeps its quotes."""
  message = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
  if len(message) > 1 and message[0] == message[-1] and message[0] in "'\"":
    message = message[1:-1]
  message = message.replace("\\n", " ").replace("\\'", "'")
  return " ".join(message.split())


def _user_errors() -> tuple[type[BaseException], ...]:
  """Errors we raise on bad input (missing dataset, another model's checkpoint, non-finite
  loss, a busy workdir); looked up lazily so that start-up imports no training code."""
  types: list[type[BaseException]] = [FileNotFoundError, FileExistsError, ImportError,
                                      ValueError]
  for module, name in (("msposejax.training.loop", "NonFiniteLossError"),
                       ("msposejax.training.workdir_lock", "WorkdirBusyError")):
    if module in sys.modules:
      types.append(getattr(sys.modules[module], name))
  return tuple(types)


def _help(argv: list[str]) -> str | None:
  """Our help text where argv asks for help (or names no command), else None."""
  words = argv[1:]
  if words and not any(w in commands.HELP_WORDS for w in words):
    return None
  command = commands.find([w for w in words if w != "help"])
  if command is None:
    return commands.overview()
  flag_help = {h.name: (flags.FLAGS[h.name].help, str(flags.FLAGS[h.name].default))
               for h in _FLAGS}
  return commands.command_help(command, flag_help)


def _quiet_closed_loop_callbacks() -> None:
  """Drops `RuntimeError: Event loop is closed` raised in a thread other than the main one.

  When orbax gives up on a damaged checkpoint it closes its asyncio loop while tensorstore is
  still finishing reads; each late callback fails in tensorstore's thread and is printed
  (as an unraisable exception): 10-800 tracebacks around the one line that says which file is
  damaged (#27 item 4). Its unawaited read coroutines report the same reads again when they
  are collected (a resume through two damaged steps: 100,125 lines). They report nothing but
  that the restore was abandoned.
  """
  import threading

  def closed_loop(exc_type, exc) -> bool:
    return (exc_type is RuntimeError and str(exc) == "Event loop is closed"
            and threading.current_thread() is not threading.main_thread())

  previous = sys.excepthook

  def excepthook(exc_type, exc, tb):
    if not closed_loop(exc_type, exc):
      previous(exc_type, exc, tb)

  previous_threading = threading.excepthook

  def threading_hook(args):
    if not closed_loop(args.exc_type, args.exc_value):
      previous_threading(args)

  previous_unraisable = sys.unraisablehook

  def abandoned_read(obj) -> bool:  # an orbax read coroutine closed unawaited at exit
    code = getattr(obj, "cr_code", None)
    return code is not None and f"{os.sep}orbax{os.sep}" in code.co_filename

  def unraisablehook(args):  # how pybind11 reports an exception in tensorstore's callbacks
    if not (closed_loop(args.exc_type, args.exc_value) or abandoned_read(args.object)):
      previous_unraisable(args)

  sys.excepthook = excepthook
  threading.excepthook = threading_hook
  sys.unraisablehook = unraisablehook


def run() -> None:
  """Console-script entry point. Bad input ends in one line, never a traceback."""
  _quiet_closed_loop_callbacks()
  text = _help(sys.argv)
  if text is not None:
    print(text)
    sys.exit(0 if len(sys.argv) > 1 else 2)
  try:
    app.run(main, argv=sys.argv, flags_parser=parse_flags)
  except Exception as e:  # noqa: BLE001 -- only our input errors become one line
    if not isinstance(e, _user_errors()) or os.environ.get("MSPOSEJAX_TRACEBACK"):
      raise
    sys.exit(f"msposejax: error: {e} (MSPOSEJAX_TRACEBACK=1 shows the traceback)")


if __name__ == "__main__":
  run()
