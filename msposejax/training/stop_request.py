"""Ctrl-C and SIGTERM during a training: asked for between steps, acted on by the loop."""

from __future__ import annotations

import signal

from msposejax.training.reports import say


class StopRequest:
  """SIGTERM (TPU preemption, `kill`) and Ctrl-C ask the loop to checkpoint and exit at the
  end of the step while `at_once` is off (the training steps); a second Ctrl-C aborts at once,
  without saving. A context manager: the previous handlers come back on exit."""

  def __init__(self):
    self.requested: str | None = None  # what asked, once asked
    # True: a request aborts at once (KeyboardInterrupt), as when there is no step to finish.
    self.at_once = True
    self._previous = {}

  def __enter__(self) -> "StopRequest":
    try:
      for signum in (signal.SIGTERM, signal.SIGINT):
        self._previous[signum] = signal.signal(signum, self._handle)
    except ValueError:  # not the main thread (an embedding application): no handlers
      pass
    return self

  def __exit__(self, *exc) -> None:
    for signum, handler in self._previous.items():
      signal.signal(signum, handler)

  def _handle(self, signum, frame):
    what = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    if self.at_once or (what == "Ctrl-C" and self.requested == "Ctrl-C"):
      self.requested = what
      raise KeyboardInterrupt
    if what == "Ctrl-C":
      say("\nCtrl-C: saving a checkpoint after this step and stopping (Ctrl-C again aborts "
          "without saving)")
    self.requested = self.requested or what
