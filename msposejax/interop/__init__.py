"""Interoperability with the PyTorch stacked hourglass (needs the `torch` extra)."""
