"""The `msposejax` commands and flags as one table: what each does, its flags, an example.

Pure data: no JAX, no training stack, so `msposejax --help` and `msposejax CMD --help` start
in well under a second. `main.py` defines the flags and runs the commands; `console.py`
writes the help.
"""

from __future__ import annotations

import dataclasses

# name -> (absl kind, default, help[, choices]). One flag, one meaning in every command.
FLAGS: dict[str, tuple] = {
    "config": ("string", None, "An ml_collections config file (configs/*.py); eval and "
        "predict: default the checkpoint's own (a given one must describe its model)."),
    "workdir": ("string", None, "A training run's directory: checkpoints, logs, metrics, results."),
    "checkpoint": ("string", None, "A trained model: a training workdir (its best step, else its "
        "latest) or one step's directory (WORKDIR/checkpoints/N)."),
    "step": ("integer", None, "The checkpoint step to use (default: the best step by the "
        "validation metric, else the latest)."),
    "torch_weights": ("string", None, "A princeton-vl PyTorch stacked-hourglass state dict "
        "(.pt/.pth)."),
    "images": ("list", None, "Image files and/or folders of images."),
    "boxes": ("string", None, 'JSON {image name: [[x1,y1,x2,y2], ...] or [{"center": [x, y], '
        '"scale": s}, ...]}; without it each whole image is one person.'),
    "detections": ("string", None, "A person detector's boxes in COCO's results format "
        '([{"image_id", "bbox": [x, y, w, h], "score"}, ...], HRNet\'s detections files), matched '
        'to the photos by COCO image id (000000000790.jpg is 790) or "file_name".'),
    "min_box_score": ("float", 0.0, "Detections scoring below it are dropped."),
    "video": ("string", None, "A video file (.mp4, .avi, ...) or a folder of frames: one person "
        "followed from frame to frame, keypoints smoothed (One-Euro filter)."),
    "box": ("list", None, "x1,y1,x2,y2: the person in the first video frame (default: the whole "
        "frame)."),
    "min_cutoff": ("float", None, "--video smoothing at rest, Hz: lower is smoother, with more lag "
        "(default: the checkpoint's config.video.min_cutoff)."),
    "beta": ("float", None, "--video: how fast smoothing gives way to speed: higher is less lag, "
        "more jitter (default: the checkpoint's config.video.beta)."),
    "format": ("enum", "stablehlo", "stablehlo: model.jaxexport for jax.export; onnx: model.onnx "
        "for onnxruntime (pip install 'msposejax[export]').", ["stablehlo", "onnx"]),
    "submission": ("string", None, "Also write MPII's submission .mat (pos_pred_src, 1-based) of "
        "all people, in image order."),
    "predictions": ("string", None, "Predictions to score: MPII: .h5 `preds`, .mat `pos_pred_src`, "
        "or msposejax predict JSON; COCO: a keypoint results JSON from any codebase."),
    "ground-truth": ("string", None, "MPII validation ground truth (detections_our_format.mat or "
        "valid.h5), or a COCO-format annotation JSON (COCO, CrowdPose, OCHuman, your own)."),
    "json": ("string", None, "Also write the report as JSON here."),
    "split": ("string", "train", "The dataset split to draw."),
    "num": ("integer", 16, "How many examples."),
    "out": ("string", None, "Where the output goes: a folder (predict, export, import-torch) or a "
        "PNG file (data show, default grid.png)."),
    "distributed": ("bool", False, "Call jax.distributed.initialize() with cluster auto-detection "
        "(Cloud TPU pods, SLURM); launch/tpu.sh sets it."),
    "coordinator_address": ("string", None, "Multi-process: host:port of process 0, with "
        "--num_processes and --process_id (e.g. local CPU processes)."),
    "num_processes": ("integer", None, "Multi-process: process count."),
    "process_id": ("integer", None, "Multi-process: this process's id."),
}
# How the processes of one training or evaluation find each other.
PROCESS_FLAGS = ("distributed", "coordinator_address", "num_processes", "process_id")


@dataclasses.dataclass(frozen=True)
class Command:
  summary: str            # one line
  example: str
  entry: str              # msposejax.ENTRY.run_command(command, config, args) runs it
  flags: tuple[str, ...]  # the flags it accepts, besides --config.FIELD
  required: tuple[str, ...] = ()
  config: str = "required"  # "required", "optional" (default: the checkpoint's), or "none"


COMMANDS: dict[tuple[str, ...], Command] = {
    ("train",): Command(
        "train a config in a workdir (resuming its latest checkpoint), evaluate, write results",
        "msposejax train --config configs/quickstart.py --workdir runs/quickstart",
        "training.command_line", ("config", "workdir", *PROCESS_FLAGS), required=("workdir",)),
    ("eval",): Command(
        "PCKh, PCK or COCO's OKS AP table of one checkpoint of a training workdir (its own "
        "config, unless --config is given)",
        "msposejax eval --workdir runs/quickstart --step 600", "training.command_line",
        ("config", "workdir", "step", *PROCESS_FLAGS), required=("workdir",),
        config="optional"),
    ("data", "prepare"): Command(
        "build the config's TFDS dataset (synthetic people, MPII, LSP, COCO) once",
        "msposejax data prepare --config configs/lsp_cpu.py", "data.command_line", ("config",)),
    ("data", "show"): Command(
        "a PNG grid of training crops with their keypoints, as the network sees them",
        "msposejax data show --config configs/quickstart.py --num 16 --out grid.png",
        "data.command_line", ("config", "split", "num", "out")),
    ("config", "show"): Command(
        "every field of a config with its value, after its variant's changes and overrides",
        "msposejax config show --config configs/msr8_mpii_kpmask.py --config.batch_size=8",
        "describe", ("config",)),
    ("describe",): Command(
        "parameters, GFLOPs and output shapes of the configured model (JSON)",
        "msposejax describe --config configs/hourglass8.py", "describe", ("config",)),
    ("predict",): Command(
        "keypoints of the people in photos (JSON, overlays, an MPII submission), or of one "
        "person through a video (smoothed, annotated video + JSON)",
        "msposejax predict --checkpoint runs/quickstart --images photos/ --out predictions/   "
        "or  --video in.mp4 --out out.mp4", "inference.command_line",
        ("checkpoint", "config", "step", "images", "boxes", "detections", "min_box_score",
         "submission", "video", "box", "min_cutoff", "beta", "out"), ("checkpoint", "out"),
        config="optional"),
    ("export",): Command(
        "a checkpoint's inference function as StableHLO (jax.export) or ONNX (onnxruntime), "
        "to run without msposejax",
        "msposejax export --checkpoint runs/quickstart --format onnx --out exported/",
        "inference.command_line", ("checkpoint", "step", "format", "out"),
        ("checkpoint", "out"), config="none"),
    ("import-torch",): Command(
        "princeton-vl PyTorch hourglass weights -> an orbax checkpoint (needs torch)",
        "msposejax import-torch --config configs/hourglass8.py --torch_weights model.pt "
        "--out runs/hg8_torch", "interop.command_line", ("config", "torch_weights", "out"),
        ("torch_weights", "out")),
    ("score",): Command(
        "score any codebase's MPII or COCO-format predictions with the official protocol",
        "msposejax score --predictions preds.h5 --ground-truth detections_our_format.mat",
        "score_command", ("predictions", "ground-truth", "json"),
        ("predictions", "ground-truth"), config="none"),
}

HELP_WORDS = ("-h", "--help", "-help", "help", "--helpshort", "--helpfull")


def name(command: tuple[str, ...]) -> str:
  return " ".join(command)


def find(words: list[str]) -> tuple[str, ...] | None:
  """The command named by the leading words of argv[1:] (flags excluded), if any."""
  words = [w for w in words if not w.startswith("-")]
  return next((tuple(words[:n]) for n in (2, 1) if tuple(words[:n]) in COMMANDS), None)
