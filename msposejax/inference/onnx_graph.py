"""Two rewrites of the converted ONNX graph that onnxruntime runs faster (pure: proto → proto).

`folded_network` pools and upsamples with JAX ops that the converter (jax2onnx) writes as
  - `reduce_window` max 2×2 → Unsqueeze → Unsqueeze → MaxPool over all four axes
    (kernel 1×1×2×2) → Squeeze, which onnxruntime refuses ("Unsupported pooling size");
  - a depthwise 2×2 convolution of ones over the input dilated ×2 → a grouped ConvTranspose
    (which the converter sizes wrongly);
here they become what they are: a 2-D MaxPool and a nearest Resize (×2). Both keep the
network in onnxruntime's blocked NCHWc layout from the first convolution to the last, with
no reordering in between. The values do not change (`onnx_export.check` verifies them).
"""

from __future__ import annotations

import collections

import numpy as np
import onnx
from onnx import helper, numpy_helper


def _attrs(node: onnx.NodeProto) -> dict:
  return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _dead_code_removed(graph: onnx.GraphProto) -> None:
  """Drops nodes and initializers that no graph output depends on."""
  needed = {o.name for o in graph.output}
  keep = []
  for node in reversed(graph.node):
    if any(o in needed for o in node.output):
      keep.append(node)
      needed.update(i for i in node.input if i)
  keep.reverse()
  del graph.node[:]
  graph.node.extend(keep)
  initializers = [t for t in graph.initializer if t.name in needed]
  del graph.initializer[:]
  graph.initializer.extend(initializers)


def simplify(model: onnx.ModelProto) -> tuple[onnx.ModelProto, dict[str, int]]:
  """(the model with the two rewrites, {"MaxPool": n, "Resize": m} rewritten)."""
  graph = model.graph
  producer = {o: n for n in graph.node for o in n.output}
  consumers = collections.defaultdict(list)
  for node in graph.node:
    for name in node.input:
      consumers[name].append(node)
  rewritten = collections.Counter()
  scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "upsample2_scales")
  nodes = []
  for node in graph.node:
    a = _attrs(node)
    if (node.op_type == "MaxPool" and list(a.get("kernel_shape", ())) == [1, 1, 2, 2]
        and list(a.get("strides", ())) == [1, 1, 2, 2] and not any(a.get("pads", ()))):
      inner = producer.get(node.input[0])
      outer = producer.get(inner.input[0]) if inner is not None else None
      after = consumers[node.output[0]]
      if (inner is not None and outer is not None and inner.op_type == "Unsqueeze"
          and outer.op_type == "Unsqueeze" and len(after) == 1
          and after[0].op_type == "Squeeze"):
        # The Squeeze's output now comes from the 2-D MaxPool; the old chain is dead code.
        nodes.append(helper.make_node("MaxPool", [outer.input[0]], [after[0].output[0]],
                                      name=node.name + "_2d", kernel_shape=[2, 2],
                                      strides=[2, 2]))
        after[0].output[0] = after[0].output[0] + "_unused"
        rewritten["MaxPool"] += 1
        continue
    # The only grouped ConvTranspose is folded_network's upsampling (jax2onnx 0.12.5 writes
    # its input dilation with strides 1, a wrong size, so the attributes are not a guide).
    if node.op_type == "ConvTranspose" and a.get("group", 1) > 1:
      nodes.append(helper.make_node("Resize", [node.input[0], "", scales.name], node.output,
                                    name=node.name + "_nearest", mode="nearest",
                                    coordinate_transformation_mode="asymmetric",
                                    nearest_mode="floor"))
      rewritten["Resize"] += 1
      continue
    nodes.append(node)
  del graph.node[:]
  graph.node.extend(nodes)
  if rewritten["Resize"]:
    graph.initializer.append(scales)
  _dead_code_removed(graph)
  return model, dict(rewritten)
