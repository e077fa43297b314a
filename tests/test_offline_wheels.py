"""launch/offline_wheels.py's reading of a target's `pip freeze` (the part that runs without
an index; the resolution and downloads are pip's, proven end to end in docs/offline.md)."""

import importlib.util

import pytest

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location("offline_wheels",
                                              REPO / "launch" / "offline_wheels.py")
offline_wheels = importlib.util.module_from_spec(spec)
spec.loader.exec_module(offline_wheels)

FREEZE = """\
# a GPU host
jax==0.11.2
jax-cuda13-plugin==0.11.2
Flax==0.12.12
opencv_python_headless==5.1.0.95
ml_dtypes==0.7.0  # comment
torch @ file:///wheels/torch-2.9.0%2Bcu130-cp312-cp312-linux_x86_64.whl
-e git+https://example.invalid/repo.git@abc#egg=my_pkg
"""


def test_freeze_pins_normalised_names_and_notes_url_installs():
  pinned, other = offline_wheels.read_freeze(FREEZE)
  assert pinned == {"jax": "0.11.2", "jax-cuda13-plugin": "0.11.2", "flax": "0.12.12",
                    "opencv-python-headless": "5.1.0.95", "ml-dtypes": "0.7.0"}
  assert other == {"torch", "my-pkg"}


def test_a_line_that_is_not_freeze_output_is_one_clear_error():
  with pytest.raises(ValueError, match="freeze line 2 'numpy>=2' is not"):
    offline_wheels.read_freeze("jax==0.11.2\nnumpy>=2\n")
