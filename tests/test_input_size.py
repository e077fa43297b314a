"""`input_size.input_hw`: n or (H, W), nothing else."""

import ml_collections
import pytest

from msposejax.input_size import input_hw, is_square


@pytest.mark.parametrize("value, hw", [(256, (256, 256)), ((256, 192), (256, 192)),
                                       ([64, 48], (64, 48))])
def test_input_hw_reads_a_side_or_a_pair(value, hw):
  assert input_hw(value) == hw
  assert input_hw(ml_collections.ConfigDict({"input_size": value})) == hw
  assert is_square(value) == (hw[0] == hw[1])


@pytest.mark.parametrize("value", [0, -4, (256,), (256, 192, 3), "abc", 25.5, (64, 0)])
def test_input_hw_refuses_anything_else(value):
  with pytest.raises(ValueError, match="input_size"):
    input_hw(value)
