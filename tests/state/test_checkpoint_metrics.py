"""The best checkpoint's metric is named for what it holds, and old checkpoints still rank."""

import pytest

from msposejax.state import retention


@pytest.mark.parametrize("metrics, value", [
    ({"pckh@0.5": 0.81}, 0.81), ({"pck@0.2": 0.43}, 0.43), ({"oks_ap": 0.72}, 0.72),
    ({"pckh": 0.5}, 0.5),  # written before 2026-12-06, whatever the skeleton's metric
    ({}, None), (None, None)])
def test_headline_metric_reads_the_one_saved_number(metrics, value):
  assert retention.headline_metric(metrics) == value


def test_steps_rank_by_their_metric_and_nan_or_none_last():
  rank = retention.rank
  assert rank({"oks_ap": 0.7}) > rank({"oks_ap": 0.6}) > rank({"oks_ap": float("nan")})
  assert rank(None) == rank({}) == float("-inf")


def test_two_metrics_in_one_step_are_an_error_not_a_guess():
  with pytest.raises(ValueError, match="one headline metric"):
    retention.headline_metric({"pckh": 0.5, "oks_ap": 0.7})
