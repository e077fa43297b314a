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
  """Loads `get_config()` from a config file; the result is locked (typos raise)."""
  module = _load_module(pathlib.Path(path))
  if not hasattr(module, "get_config"):
    raise ValueError(f"config file {path} has no get_config()")
  config = module.get_config()
  config.lock()
  return config
