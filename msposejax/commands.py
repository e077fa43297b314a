"""The `msposejax` commands: what each does, its flags, an example, and the help text.

Pure text: no JAX, no training stack, so `msposejax --help` and `msposejax CMD --help` start
in well under a second. `main.py` defines the flags and runs the commands.
"""

from __future__ import annotations

import dataclasses
import textwrap

# Flags every command accepts (where to run, how the processes find each other).
COMMON_FLAGS = ("distributed", "coordinator_address", "num_processes", "process_id")


@dataclasses.dataclass(frozen=True)
class Command:
  summary: str            # one line
  example: str
  flags: tuple[str, ...]  # the flags it accepts, besides COMMON_FLAGS and --config.FIELD
  required: tuple[str, ...] = ()
  config: str = "required"  # "required", "optional" (import-torch), or "none" (carried along)


COMMANDS: dict[tuple[str, ...], Command] = {
    ("train",): Command(
        "train a config in a workdir (resuming its latest checkpoint), evaluate, write results",
        "msposejax train --config configs/quickstart.py --workdir runs/quickstart",
        ("config", "workdir"), required=("workdir",)),
    ("eval",): Command(
        "PCKh, PCK or COCO's OKS AP table of one checkpoint of a training workdir",
        "msposejax eval --config configs/quickstart.py --workdir runs/quickstart --step 600",
        ("config", "workdir", "step"), required=("workdir",)),
    ("data", "prepare"): Command(
        "build the config's TFDS dataset (synthetic people, MPII, LSP) once",
        "msposejax data prepare --config configs/lsp_cpu.py",
        ("config",)),
    ("data", "show"): Command(
        "a PNG grid of training crops with their keypoints, as the network sees them",
        "msposejax data show --config configs/quickstart.py --num 16 --out grid.png",
        ("config", "split", "num", "out")),
    ("describe",): Command(
        "parameters, GFLOPs and output shapes of the configured model (JSON)",
        "msposejax describe --config configs/hourglass8.py",
        ("config",)),
    ("predict",): Command(
        "keypoints of the people in photos (JSON, overlays, an MPII submission), or of one "
        "person through a video (smoothed, annotated video + JSON)",
        "msposejax predict --checkpoint runs/quickstart --images photos/ --out predictions/   "
        "or  --video in.mp4 --out out.mp4",
        ("checkpoint", "step", "images", "boxes", "detections", "min_box_score", "submission",
         "video", "box", "out"),
        required=("checkpoint", "out"), config="none"),
    ("export",): Command(
        "a checkpoint's inference function as StableHLO (jax.export) or ONNX (onnxruntime), "
        "to run without msposejax",
        "msposejax export --checkpoint runs/quickstart --format onnx --out exported/",
        ("checkpoint", "step", "format", "out"), required=("checkpoint", "out"), config="none"),
    ("import-torch",): Command(
        "princeton-vl PyTorch hourglass weights -> an orbax checkpoint (needs torch)",
        "msposejax import-torch --config configs/hourglass8.py --torch_weights model.pt "
        "--out runs/hg8_torch",
        ("config", "torch_weights", "out"), required=("torch_weights", "out")),
    ("score",): Command(
        "score any codebase's MPII or COCO-format predictions with the official protocol",
        "msposejax score --predictions preds.h5 --ground-truth detections_our_format.mat",
        ("predictions", "ground-truth", "json"), required=("predictions", "ground-truth"),
        config="none"),
}

HELP_WORDS = ("-h", "--help", "-help", "help", "--helpshort", "--helpfull")


def name(command: tuple[str, ...]) -> str:
  return " ".join(command)


def find(words: list[str]) -> tuple[str, ...] | None:
  """The command named by the leading words of argv[1:] (flags excluded), if any."""
  words = [w for w in words if not w.startswith("-")]
  for size in (2, 1):
    if tuple(words[:size]) in COMMANDS:
      return tuple(words[:size])
  return None


def overview() -> str:
  """`msposejax --help`: every command with one line and an example."""
  width = max(len(name(c)) for c in COMMANDS)
  lines = ["usage: msposejax COMMAND [--flag=value ...] [--config FILE --config.FIELD=value ...]",
           "", "commands:"]
  for command, spec in COMMANDS.items():
    lines.append(f"  {name(command):<{width}}  {spec.summary}")
    lines.append(f"  {'':<{width}}    e.g. {spec.example}")
  lines += ["", "`msposejax COMMAND --help` lists that command's flags. Docs: README.md, docs/."]
  return "\n".join(lines)


def command_help(command: tuple[str, ...], flag_help: dict[str, tuple[str, str]]) -> str:
  """`msposejax CMD --help`: its flags and what each means.

  Args:
    flag_help: flag name → (help text, default as text) for every flag main.py defines.
  """
  spec = COMMANDS[command]
  lines = [f"usage: msposejax {name(command)} " + " ".join(
      f"--{f}=..." if f in spec.required else f"[--{f}=...]" for f in spec.flags if f != "config")
      + ("" if spec.config == "none" else
         " --config FILE [--config.FIELD=value ...]" if spec.config == "required" else
         " [--config FILE]"), "", spec.summary, f"example: {spec.example}", "", "flags:"]
  for flag in spec.flags + COMMON_FLAGS:
    text, default = flag_help[flag]
    extra = " (required)" if flag in spec.required else (
        f" (default: {default})" if default not in ("None", "False", "") else "")
    lines.append(f"  --{flag}")
    lines += textwrap.wrap(text + extra, 88, initial_indent="      ", subsequent_indent="      ")
  if spec.config != "none":
    lines += ["  --config.FIELD=value",
              "      override one field of the config file, e.g. --config.batch_size=16 "
              "(a typo gets a suggestion)"]
  return "\n".join(lines)


def misused_flags(command: tuple[str, ...], given: list[str]) -> str | None:
  """A one-line error for flags this command does not take (one flag, one meaning), or None."""
  spec = COMMANDS[command]
  wrong = [f for f in given if f not in spec.flags + COMMON_FLAGS]
  if not wrong:
    return None
  hints = {"checkpoint": "eval takes --step N (a step of --workdir); import-torch takes "
                         "--torch_weights FILE"}
  hint = "; ".join(hints[f] for f in wrong if f in hints)
  return (f"{name(command)} does not take {', '.join('--' + f for f in wrong)}"
          + (f" ({hint})" if hint else "")
          + f"; its flags: {', '.join('--' + f for f in spec.flags)} "
          f"(msposejax {name(command)} --help)")
