"""The `msposejax` command line: `msposejax COMMAND [--flag=value ...]`.

`commands.py` holds the commands and their flags as one table, with the help text; here the
flags are defined from it, the config file is loaded and validated once, and the command runs.
Bad input ends in one line (`console.py`); nothing heavy is imported before a command needs it.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import types

from absl import app, flags
from ml_collections import config_flags

from msposejax import commands, console

for _name, (_kind, _default, _help, *_choices) in commands.FLAGS.items():
  if _name != "config":  # a ConfigDict flag, defined as its file is loaded (parse_flags)
    getattr(flags, f"DEFINE_{_kind}")(_name, _default, help=_help,
                                      **({"enum_values": _choices[0]} if _choices else {}))
_config = None  # the command's config, overrides applied and validated, or None


def _fail(message: str) -> None:
  """One line on stderr, exit 1 (absl's UsageError would print every flag first)."""
  sys.exit(f"msposejax: {message}")


def parse_flags(argv: list[str]) -> list[str]:
  """Parses the flags and loads the config once; a bad one ends in one actionable line.

  absl's `flags_parser`: a missing file, a misspelt field or a wrong value never surfaces as a
  traceback from inside absl or ml_collections. The file is loaded by `load_config` (one line
  naming it when it is broken) and its `--config.FIELD` overrides are applied by
  ml_collections' `DEFINE_config_dict`.
  """
  global _config
  from msposejax.config_files import config_path_in, load_config
  command, path, _config = commands.find(argv[1:]), config_path_in(argv), None
  for name in [n for n in flags.FLAGS if n.split(".")[0] == "config"]:
    delattr(flags.FLAGS, name)  # another command line in this process (tests)
  flags.FLAGS.unparse_flags()
  if path is not None:
    at = next(i for i, a in enumerate(argv) if a.split("=")[0] in ("--config", "-config"))
    argv = argv[:at] + argv[at + (1 if "=" in argv[at] else 2):]
    if command and commands.COMMANDS[command].config == "none":
      _fail(commands.misused_flags(command, ["config"]))
  try:
    if path is not None and command:
      config_flags.DEFINE_config_dict("config", load_config(path), sys_argv=argv)
    rest = flags.FLAGS(argv)
    if "config" in flags.FLAGS:
      from msposejax.config_checks import validate_config
      _config = flags.FLAGS.config
      validate_config(_config)
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError, OSError) as e:
    _fail("bad command line or config: " + console.one_line(e))
  return rest


def _check_command(command: tuple[str, ...]) -> None:
  """Flags the command does not take, missing required flags and configs: one line each."""
  spec = commands.COMMANDS[command]
  given = [f for f in commands.FLAGS if f != "config" and flags.FLAGS[f].present]
  problem = commands.misused_flags(command, given + (["config"] if _config else []))
  missing = [f for f in spec.required if not flags.FLAGS[f].present]
  if problem or missing:
    _fail(problem or f"{commands.name(command)} needs "
          f"{' and '.join('--' + f for f in missing)}, e.g. {spec.example}")
  if spec.config == "required" and _config is None:
    _fail(f"{commands.name(command)} needs --config FILE, e.g. {spec.example}")


def _args() -> types.SimpleNamespace:
  """The flag values, as attributes (ground-truth: ground_truth)."""
  return types.SimpleNamespace(**{f.replace("-", "_"): flags.FLAGS[f].value
                                  for f in commands.FLAGS if f != "config"})


def main(argv: list[str]) -> None:
  command = tuple(argv[1:])
  if command not in commands.COMMANDS:
    _fail(f"unknown command {' '.join(argv[1:]) or '(none)'}; `msposejax --help` lists the "
          "commands")
  _check_command(command)
  console.quiet_library_logs()
  if command in (("predict",), ("export",)):
    return _inference(command)
  config, a = _config, _args()
  if command == ("score",):
    from msposejax import score_command
    sys.exit(score_command.run(a.predictions, a.ground_truth, a.json))
  if command == ("config", "show"):  # YAML: one field a line, in the file's order; [a, b]
    import yaml
    dumper = type("Dumper", (yaml.SafeDumper,), {})
    dumper.add_representer(list, lambda d, v: d.represent_sequence(
        "tag:yaml.org,2002:seq", v, flow_style=True))
    return print(yaml.dump(json.loads(config.to_json()), Dumper=dumper, sort_keys=False,
                           allow_unicode=True), end="")
  logging.getLogger().setLevel(logging.INFO)
  if command == ("describe",):
    from msposejax.describe import describe
    print(json.dumps(describe(config), indent=1))
  elif command == ("data", "prepare"):
    from msposejax.data import pipeline
    pipeline.prepare(config)
    print(f"prepared {config.data.dataset} in {pipeline.data_dir(config)}")
  elif command == ("data", "show"):
    from msposejax.data import show
    print(f"wrote {show.save(config, a.split, a.num, a.out or 'grid.png')}")
  elif command == ("import-torch",):
    _import_torch(config, a)
  else:
    import jax
    if a.coordinator_address:
      jax.distributed.initialize(a.coordinator_address, a.num_processes, a.process_id)
    elif a.distributed:
      jax.distributed.initialize()  # cluster auto-detection (Cloud TPU pod, SLURM)
    if command == ("train",):
      from msposejax.training import loop
      loop.train(config, a.workdir)
    else:
      from msposejax.training.eval_checkpoint import evaluate_checkpoint
      evaluate_checkpoint(config, a.workdir, a.step)  # config None: the checkpoint's own


def _inference(command: tuple[str, ...]) -> None:
  """`predict` and `export` (inference/command_line.py), with the flag values parsed."""
  from msposejax.inference import command_line
  a = _args()
  if command == ("predict",) and (a.images is None) == (a.video is None):
    _fail("predict needs --images FILES or --video FILE (one of them), e.g. "
          + commands.COMMANDS[command].example)
  command_line.run(command[0], a)


def _import_torch(config, a: types.SimpleNamespace) -> None:
  from msposejax.interop.torch_import import import_torch
  report = import_torch(a.torch_weights, config, a.out)
  # "mss_head_r16", "msr": the kinds of new modules, not each stack's copy.
  new_modules = sorted({parts[2] if parts[1].startswith("stack") else parts[1]
                        for parts in (p.split("/") for p in report["new"])})
  print(f"wrote {report['path']}: {len(report['loaded'])} arrays loaded, {len(report['new'])} "
        f"new{' (' + ', '.join(new_modules) + ')' if new_modules else ''}, "
        f"{len(report['unused'])} unused PyTorch keys (num_batches_tracked, unused skip_layer)")


def run() -> None:
  """Console-script entry point. Bad input ends in one line, never a traceback."""
  console.quiet_closed_loop_callbacks()
  words = sys.argv[1:]
  if not words or any(w in commands.HELP_WORDS for w in words):
    command = commands.find([w for w in words if w != "help"])
    print(commands.overview() if command is None else commands.command_help(command))
    sys.exit(0 if words else 2)
  try:
    app.run(main, argv=sys.argv, flags_parser=parse_flags)
  except Exception as e:  # noqa: BLE001 -- only our input errors become one line
    if not isinstance(e, console.user_errors()) or os.environ.get("MSPOSEJAX_TRACEBACK"):
      raise
    _fail(f"error: {e} (MSPOSEJAX_TRACEBACK=1 shows the traceback)")


if __name__ == "__main__":
  run()
