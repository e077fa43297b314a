"""The paper's full model: 8 stacks with MSS heads, MSR-net and the structure-aware loss.

Identical to default.py, named for what it is.
Command: msposejax describe --config configs/mss8_msr.py
"""

from msposejax.config_files import load_sibling

default = load_sibling(__file__)


def get_config():
  return default.get_config()
