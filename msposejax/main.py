"""The `msposejax` command line: `msposejax COMMAND --config FILE [--config.field=value ...]`.

Commands:
  describe   print parameter count, GFLOPs and output shapes of the configured model (JSON)
"""

from __future__ import annotations

import json
import sys

from absl import app, flags
from ml_collections import config_flags

_CONFIG = config_flags.DEFINE_config_file("config", None, "Path to an ml_collections config file.",
                                          lock_config=True)

COMMANDS = ("describe",)


def main(argv: list[str]) -> None:
  if len(argv) != 2 or argv[1] not in COMMANDS:
    raise app.UsageError(f"usage: msposejax {{{'|'.join(COMMANDS)}}} --config FILE "
                         f"[--config.field=value ...]; got {argv[1:]}")
  if _CONFIG.value is None:
    raise app.UsageError("--config is required, e.g. --config configs/mss8_msr.py")
  command = argv[1]
  if command == "describe":
    from msposejax.describe import describe  # deferred: keeps `--help` fast
    print(json.dumps(describe(_CONFIG.value), indent=1))


def parse_flags(argv: list[str]) -> list[str]:
  """Parses flags and validates the config; a bad one ends in one actionable line.

  Used as absl's `flags_parser`, so a missing file, a misspelt field or a wrong value never
  surfaces as a traceback from inside absl or ml_collections.
  """
  from msposejax.config_checks import validate_config
  try:
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
  """Console-script entry point."""
  app.run(main, argv=sys.argv, flags_parser=parse_flags)


if __name__ == "__main__":
  run()
