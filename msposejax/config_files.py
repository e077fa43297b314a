"""Loading ml_collections config files by path (IO: reads Python files)."""

from __future__ import annotations

import importlib.util
import pathlib
import types

import ml_collections


def _load_module(path: pathlib.Path) -> types.ModuleType:
  if not path.is_file():
    raise FileNotFoundError(f"config file {path} does not exist")
  spec = importlib.util.spec_from_file_location(f"msposejax_config_{path.stem}", path)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def load_sibling(file: str, name: str = "default") -> types.ModuleType:
  """Imports `name`.py from the folder of `file`: how a variant config reaches default.py."""
  return _load_module(pathlib.Path(file).resolve().with_name(f"{name}.py"))


def load_config(path: str | pathlib.Path) -> ml_collections.ConfigDict:
  """Loads `get_config()` from a config file; the result is locked (typos raise).

  Raises:
    FileNotFoundError: no such file.
    ValueError: one line naming the file, for a file that does not import (syntax error,
      an exception), has no get_config(), or whose get_config() fails or returns no
      ConfigDict.
  """
  path = pathlib.Path(path)
  try:
    module = _load_module(path)
  except FileNotFoundError:
    raise
  except Exception as e:  # pylint: disable=broad-except  (any error in the user's file)
    raise ValueError(f"config file {path} does not load: {_one_line(e)}") from e
  if not hasattr(module, "get_config"):
    raise ValueError(f"config file {path} has no get_config()")
  try:
    config = module.get_config()
  except Exception as e:  # pylint: disable=broad-except
    raise ValueError(f"config file {path}: get_config() failed: {_one_line(e)}") from e
  if not isinstance(config, ml_collections.ConfigDict):
    raise ValueError(f"config file {path}: get_config() returned {type(config).__name__}, "
                     "not an ml_collections.ConfigDict")
  config.lock()
  return config


def _one_line(e: BaseException) -> str:
  return f"{type(e).__name__}: {' '.join(str(e).split())}"


def config_path_in(argv: list[str]) -> str | None:
  """The file of `--config FILE` / `--config=FILE` on a command line (without `:args`)."""
  for i, arg in enumerate(argv):
    if arg in ("--config", "-config") and i + 1 < len(argv):
      return argv[i + 1].split(":")[0]
    if arg.startswith(("--config=", "-config=")):
      return arg.split("=", 1)[1].split(":")[0]
  return None
