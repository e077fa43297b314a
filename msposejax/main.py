"""The `msposejax` command line: `msposejax COMMAND --config FILE [--config.field=value ...]`.

Commands:
  train          train (resuming from --workdir's latest checkpoint), evaluate, write results
  eval           PCKh of a checkpoint in --workdir (best, latest, or --checkpoint STEP)
  data prepare   build the TFDS dataset of the config
  data show      PNG grid of augmented crops with keypoints (--split, --num, --out)
  describe       parameter count, GFLOPs and output shapes of the configured model (JSON)
  predict        keypoints for images (--checkpoint PATH --images DIR_OR_FILES --out DIR)
  export         serialized inference function (--checkpoint PATH --out DIR)
  import-torch   princeton-vl PyTorch weights -> orbax checkpoint (--checkpoint model.pt --out DIR)
  score          MPII validation predictions of any codebase under the official protocol
                 (--predictions P --ground-truth G [--json OUT])
"""

from __future__ import annotations

import json
import logging
import os
import sys

import jax
from absl import app, flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to an ml_collections config file.",
                                          lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory (checkpoints, logs, results).")
_CHECKPOINT = flags.DEFINE_string("checkpoint", None,
                                  "eval: checkpoint step (default: best); predict/export: a "
                                  "training workdir (its best step) or a step directory; "
                                  "import-torch: the PyTorch .pt/.pth file.")
_IMAGES = flags.DEFINE_list("images", None, "predict: image files and/or folders.")
_BOXES = flags.DEFINE_string("boxes", None, "predict: JSON {image name: [[x1,y1,x2,y2], ...]}; "
                             "without it each whole image is one person.")
_SUBMISSION = flags.DEFINE_string("submission", None, "predict: also write the MPII submission "
                                  ".mat (pos_pred_src, 1-based) of all people, in image order.")
_PREDICTIONS = flags.DEFINE_string("predictions", None, "score: predictions (.h5 `preds`, .mat "
                                   "`pos_pred_src`, or msposejax predict JSON).")
_GROUND_TRUTH = flags.DEFINE_string("ground-truth", None, "score: detections_our_format.mat or "
                                    "valid.h5.")
_JSON = flags.DEFINE_string("json", None, "score: also write the report as JSON here.")
_SPLIT = flags.DEFINE_string("split", "train", "data show: split to draw.")
_NUM = flags.DEFINE_integer("num", 16, "data show: number of examples.")
_OUT = flags.DEFINE_string("out", None, "data show: output PNG (grid.png); predict/export/"
                           "import-torch: output folder.")
_DISTRIBUTED = flags.DEFINE_bool("distributed", False,
                                  "Call jax.distributed.initialize() with cluster auto-detection "
                                  "(Cloud TPU pods, SLURM); launch/tpu.sh sets it.")
_COORDINATOR = flags.DEFINE_string("coordinator_address", None,
                                   "Multi-process: host:port of process 0, with --num_processes "
                                   "and --process_id (e.g. several local CPU processes).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-process: process count.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-process: this process's id.")

COMMANDS = {("train",): "--workdir", ("eval",): "--workdir", ("data", "prepare"): None,
            ("data", "show"): None, ("describe",): None, ("predict",): None, ("export",): None,
            ("import-torch",): None, ("score",): None}
NEEDS_NO_CONFIG = {("predict",), ("export",), ("score",)}  # checkpoints carry their config


def _usage() -> str:
  names = " | ".join(" ".join(c) for c in COMMANDS)
  return f"usage: msposejax {{{names}}} --config FILE [--config.field=value ...]"


def _init_distributed() -> None:
  if _COORDINATOR.value:
    jax.distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  elif _DISTRIBUTED.value:
    jax.distributed.initialize()  # cluster auto-detection (Cloud TPU pod, SLURM)


def main(argv: list[str]) -> None:
  command = tuple(argv[1:])
  if command not in COMMANDS:
    raise app.UsageError(f"{_usage()}; got {' '.join(argv[1:]) or 'nothing'}")
  if command == ("score",):
    if not _PREDICTIONS.value or not _GROUND_TRUTH.value:
      raise app.UsageError("score needs --predictions P and --ground-truth G")
    from msposejax import score_command
    sys.exit(score_command.run(_PREDICTIONS.value, _GROUND_TRUTH.value, _JSON.value))
  if command in NEEDS_NO_CONFIG:
    _inference(command)
    return
  if _CONFIG.value is None:
    raise app.UsageError("--config is required, e.g. --config configs/quickstart.py")
  if COMMANDS[command] and not _WORKDIR.value:
    raise app.UsageError(f"{' '.join(command)} needs --workdir")
  logging.getLogger().setLevel(logging.INFO)
  config = _CONFIG.value
  if command == ("describe",):
    from msposejax.describe import describe  # deferred imports keep `--help` fast
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
      step = _CHECKPOINT.value
      if step is not None and not step.isdigit():
        raise app.UsageError(f"eval --checkpoint takes a step number, got {step!r}")
      loop.evaluate_checkpoint(config, _WORKDIR.value, None if step is None else int(step))


def _inference(command: tuple[str, ...]) -> None:
  if not _CHECKPOINT.value or not _OUT.value:
    raise app.UsageError(f"{command[0]} needs --checkpoint PATH and --out DIR")
  from msposejax.inference.predictor import Predictor
  predictor = Predictor.from_checkpoint(_CHECKPOINT.value)
  if command == ("export",):
    from msposejax.inference.export import export_predictor
    print(f"wrote {export_predictor(predictor, _OUT.value)}")
    return
  if not _IMAGES.value:
    raise app.UsageError("predict needs --images DIR_OR_FILES")
  from msposejax.inference.predict_files import predict_files
  result = predict_files(predictor, _IMAGES.value, _OUT.value, _BOXES.value,
                         submission=_SUBMISSION.value)
  print(f"{sum(len(v) for v in result['images'].values())} people in {len(result['images'])} "
        f"images -> {_OUT.value}; skipped {len(result['skipped'])} unreadable images and "
        f"{len(result['skipped_boxes'])} bad boxes")


def _import_torch(config) -> None:
  if not _CHECKPOINT.value or not _OUT.value:
    raise app.UsageError("import-torch needs --checkpoint model.pt and --out DIR")
  from msposejax.interop.torch_import import import_torch
  report = import_torch(_CHECKPOINT.value, config, _OUT.value)
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
    message = e.args[0] if e.args and isinstance(e.args[0], str) else str(e)
    # KeyErrors from ml_collections arrive as a repr ("'x'\\nDid you mean ..."): unquote it.
    message = message.strip("'\"").replace("\\n", " ").replace("\\'", "'")
    sys.exit("msposejax: bad command line or config: " + " ".join(message.split()))
  return rest


def run() -> None:
  """Console-script entry point. Runtime errors we raise on bad input (missing dataset,
  another model's checkpoint, non-finite loss) end in one line too."""
  from msposejax.training.loop import NonFiniteLossError
  from msposejax.training.workdir_lock import WorkdirBusyError
  try:
    app.run(main, argv=sys.argv, flags_parser=parse_flags)
  except (FileNotFoundError, FileExistsError, ImportError, ValueError, NonFiniteLossError,
          WorkdirBusyError) as e:
    if os.environ.get("MSPOSEJAX_TRACEBACK"):
      raise
    sys.exit(f"msposejax: error: {e} (MSPOSEJAX_TRACEBACK=1 shows the traceback)")


if __name__ == "__main__":
  run()
