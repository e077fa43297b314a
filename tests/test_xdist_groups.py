"""The suite's xdist groups take effect (`-n auto --dist loadgroup`, the README test command).

pytest-xdist 3.8 names a test's group by rewriting the test's private `_nodeid`; pytest 9 no
longer reads it, and every group was silently ignored there (pyproject.toml pins pytest < 9).
"""

import pytest


@pytest.mark.xdist_group("probe")
def test_a_grouped_test_carries_its_group(request):
  if not getattr(request.config.option, "loadgroup", False):
    pytest.skip("not run with --dist loadgroup")
  assert request.node.nodeid.endswith("@probe"), request.node.nodeid
