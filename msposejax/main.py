"""The `msposejax` command line: `msposejax COMMAND [--flag=value ...]`.

`commands.py` holds the commands and their flags as one table; here the flags are defined
from it and parsed, the config file is loaded and validated once, and the command's entry
runs: `run_command(command, config, args)` of the module the table names, in the layer the
command belongs to (`inference/command_line.py` for predict and export, ...). `console.py`
writes the help and the one-line errors. Nothing is imported before a command needs it.
"""

from __future__ import annotations

import importlib
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
_config = None  # the command's config, its overrides applied, validated; or None


def _fail(message: str) -> None:
  """One line on stderr, exit 1 (absl's UsageError would print every flag first)."""
  sys.exit(f"msposejax: {message}")


def parse_flags(argv: list[str]) -> list[str]:
  """absl's `flags_parser`: the flags, and the config file loaded once by `load_config` (one
  line naming a broken file), its `--config.FIELD` overrides applied by ml_collections'
  `DEFINE_config_dict`. A bad flag, field or value ends in one line, never a traceback."""
  global _config
  from msposejax.config_files import config_path_in, load_config
  command, path, _config = commands.find(argv[1:]), config_path_in(argv), None
  for name in [n for n in flags.FLAGS if n.split(".")[0] == "config"]:
    delattr(flags.FLAGS, name)  # from an earlier command line in this process (tests)
  flags.FLAGS.unparse_flags()
  if path is None and any(a.split("=")[0].split(".")[0] in ("--config", "-config") for a in argv):
    _fail("--config needs a config file: --config FILE [--config.FIELD=value ...]")
  if path is not None:
    at = next(i for i, a in enumerate(argv) if a.split("=")[0] in ("--config", "-config"))
    if (argv[at].split("=", 1)[1] if "=" in argv[at] else argv[at + 1]) != path:
      _fail(f"--config {path}: arguments after ':' are not taken (get_config() has none)")
    argv = argv[:at] + argv[at + (1 if "=" in argv[at] else 2):]
    if command and commands.COMMANDS[command].config == "none":
      _fail(console.misused_flags(command, ["config"]))
  try:
    if path is not None and command:
      config_flags.DEFINE_config_dict("config", load_config(path), sys_argv=argv)
    rest = flags.FLAGS(argv)
    if "config" in flags.FLAGS:
      from msposejax.config_checks import validate_config
      validate_config(flags.FLAGS.config)
      _config = flags.FLAGS.config
  except (flags.Error, AttributeError, KeyError, TypeError, ValueError, OSError) as e:
    _fail("bad command line or config: " + console.one_line(e))
  return rest


def _args(command: tuple[str, ...]) -> types.SimpleNamespace:
  """The flag values as attributes (--ground-truth: ground_truth), after one-line refusals of
  flags the command does not take, of missing required ones and of a missing config."""
  spec = commands.COMMANDS[command]
  given = [f for f in commands.FLAGS if f != "config" and flags.FLAGS[f].present]
  missing = [f for f in spec.required if not flags.FLAGS[f].present]
  problem = console.misused_flags(command, given + (["config"] if _config else []))
  if problem or missing:
    _fail(problem or f"{commands.name(command)} needs "
          f"{' and '.join('--' + f for f in missing)}, e.g. {spec.example}")
  if spec.config == "required" and _config is None:
    _fail(f"{commands.name(command)} needs --config FILE, e.g. {spec.example}")
  return types.SimpleNamespace(**{f.replace("-", "_"): flags.FLAGS[f].value
                                  for f in commands.FLAGS if f != "config"})


def main(argv: list[str]) -> None:
  command = tuple(argv[1:])
  if command not in commands.COMMANDS:
    _fail(f"unknown command {' '.join(argv[1:]) or '(none)'}; `msposejax --help` lists the "
          "commands")
  console.quiet_library_logs()
  _run(command)


def _run(command: tuple[str, ...]) -> None:
  """The command's entry (commands.py: `entry`), given the config and the flag values."""
  entry = importlib.import_module(f"msposejax.{commands.COMMANDS[command].entry}")
  entry.run_command(command, _config, _args(command))


def run() -> None:
  """Console-script entry point. Bad input ends in one line, never a traceback."""
  console.quiet_closed_loop_callbacks()
  words = sys.argv[1:]
  with console.quiet_closed_pipe():
    if not words or any(w in commands.HELP_WORDS for w in words):
      command = commands.find([w for w in words if w != "help"])
      print(console.overview() if command is None else console.command_help(command))
      sys.exit(0 if words else 2)
    try:
      app.run(main, argv=sys.argv, flags_parser=parse_flags)
    except Exception as e:  # noqa: BLE001 -- only our input errors become one line
      if not isinstance(e, console.user_errors()) or os.environ.get("MSPOSEJAX_TRACEBACK"):
        raise
      _fail(f"error: {e} (MSPOSEJAX_TRACEBACK=1 shows the traceback)")


if __name__ == "__main__":
  run()
