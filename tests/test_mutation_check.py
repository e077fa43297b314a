"""bench/mutation_check.py stays usable: every deliberate bug still applies to the code (its
text is in its file exactly once) and names tests that exist. Running the bugs is by hand
(docs/testing.md); this only keeps the list from going stale as the code changes."""

import importlib.util
import sys

from tests.conftest import REPO


def load():
  spec = importlib.util.spec_from_file_location("mutation_check",
                                                REPO / "bench" / "mutation_check.py")
  module = importlib.util.module_from_spec(spec)
  sys.modules.setdefault("mutation_check", module)  # dataclasses look their module up there
  spec.loader.exec_module(module)
  return module


def test_every_mutation_applies_and_names_existing_tests():
  check = load()
  assert check.check_applies(check.MUTATIONS) == []
  names = [m.name for m in check.MUTATIONS]
  assert len(set(names)) == len(names) >= 20
  # The five bugs of issue #30 are among them.
  assert {"flip_no_swap", "msr_first_stack", "eval_crop_pixels", "best_min",
          "wrong_mpii_limb"} <= set(names)
  for m in check.MUTATIONS:
    assert m.tests, m.name
    for test in m.tests:
      assert (REPO / test.split("::")[0]).is_file(), (m.name, test)
