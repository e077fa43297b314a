"""Keypoints ⇄ heatmaps at any resolution, decoding and flipping."""

from msposejax.codecs.decode import DECODE_METHODS, decode_heatmaps
from msposejax.codecs.flip import flip_heatmaps, flip_keypoints
from msposejax.codecs.heatmap import (heatmap_to_input, input_to_heatmap, render_heatmaps,
                                      render_multiscale)
from msposejax.codecs.multiscale import MultiScaleCodec

__all__ = ["DECODE_METHODS", "MultiScaleCodec", "decode_heatmaps", "flip_heatmaps",
           "flip_keypoints", "heatmap_to_input", "input_to_heatmap", "render_heatmaps",
           "render_multiscale"]
