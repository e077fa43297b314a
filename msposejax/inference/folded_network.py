"""PoseNet's inference forward in NCHW with BatchNorm folded into the convolutions (pure).

What the ONNX export converts (`onnx_export`): the same function as `PoseNet.apply(...,
train=False)["final"]`, written for deployment runtimes rather than for training:
  - every BatchNorm that follows a convolution is folded into it (kernel and bias rescaled in
    NumPy); the pre-activation BN at the head of each Residual, which follows a sum, stays as
    one per-channel scale and shift;
  - every convolution, 1×1 included, is `conv_general_dilated` in NCHW/OIHW, which the
    converter writes as one ONNX Conv with no layout Transpose around it;
  - pooling and nearest upsampling are ops that become single ONNX nodes (see below).
The network's weights are closed over as constants, so folding happens once, at trace time.
The variables are those of `PoseNet` (the module names of models/), read, never changed.

Shapes: images (B, 3, H, W) float → final heatmaps (B, K, H/4, W/4) float32.
"""

from __future__ import annotations

from typing import Any, Mapping

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from msposejax import skeleton
from msposejax.codecs.multiscale import MultiScaleCodec
from msposejax.models.layers import BN_EPSILON
from msposejax.models.msr_net import resize_matrix
from msposejax.models.pose_net import DTYPES

_NCHW = ("NCHW", "OIHW", "NCHW")


def _bn_scale_shift(params: Mapping, stats: Mapping) -> tuple[np.ndarray, np.ndarray]:
  """(s, t) with BN(y) = s·y + t per channel, from float32 running statistics."""
  s = np.asarray(params["scale"], np.float32) / np.sqrt(
      np.asarray(stats["var"], np.float32) + BN_EPSILON)
  return s, np.asarray(params["bias"], np.float32) - np.asarray(stats["mean"], np.float32) * s


class _Net:
  """Walks the variables of one PoseNet in the order of models/, emitting NCHW ops."""

  def __init__(self, variables: Mapping[str, Any], model: ml_collections.ConfigDict):
    self.params = jax.device_get(variables["params"])
    self.stats = jax.device_get(variables.get("batch_stats", {}))
    self.m = model
    self.dtype = DTYPES[model.dtype]

  def conv(self, x: jax.Array, path: tuple[str, ...], *, stride: int = 1, bn: bool = False,
           relu: bool = False, fold: tuple[str, ...] | None = None) -> jax.Array:
    """models.layers.Conv at `path` (its own BN when bn), then the BN at `fold` if given
    (the Residual's next pre-activation BN, which directly follows this convolution)."""
    p = self._at(self.params, path)
    kernel = np.asarray(p["conv"]["kernel"], np.float32)         # (k, k, I, O)
    bias = np.asarray(p["conv"]["bias"], np.float32)             # (O,)
    for bn_params, bn_stats in ([(p["bn"], self._at(self.stats, path)["bn"])] if bn else []) + (
        [(self._at(self.params, fold), self._at(self.stats, fold))] if fold else []):
      s, t = _bn_scale_shift(bn_params, bn_stats)
      kernel, bias = kernel * s, bias * s + t
    k = kernel.shape[0]
    pad = (k - 1) // 2
    y = jax.lax.conv_general_dilated(
        x, jnp.asarray(kernel.transpose(3, 2, 0, 1), self.dtype), (stride, stride),
        ((pad, pad), (pad, pad)), dimension_numbers=_NCHW)
    y = y + jnp.asarray(bias, self.dtype)[:, None, None]
    return jax.nn.relu(y) if relu else y

  def affine(self, x: jax.Array, path: tuple[str, ...]) -> jax.Array:
    """The BN at `path` as a depthwise 1×1 convolution: onnxruntime keeps a Conv in its
    blocked layout, where a broadcast Mul + Add made it reorder the tensor out and back."""
    s, t = _bn_scale_shift(self._at(self.params, path), self._at(self.stats, path))
    y = jax.lax.conv_general_dilated(x, jnp.asarray(s.reshape(-1, 1, 1, 1), self.dtype), (1, 1),
                                     ((0, 0), (0, 0)), dimension_numbers=_NCHW,
                                     feature_group_count=s.size)
    return y + jnp.asarray(t, self.dtype)[:, None, None]

  @staticmethod
  def _at(tree: Mapping, path: tuple[str, ...]) -> Mapping:
    for key in path:
      tree = tree[key]
    return tree

  def residual(self, x: jax.Array, path: tuple[str, ...]) -> jax.Array:
    """models.layers.Residual: bn1 stays (it follows a sum); bn2, bn3 fold into conv1, conv2."""
    p = self._at(self.params, path)
    skip = self.conv(x, path + ("skip_layer",)) if "skip_layer" in p else x
    out = jax.nn.relu(self.affine(x, path + ("bn1",)))
    out = jax.nn.relu(self.conv(out, path + ("conv1",), fold=path + ("bn2",)))
    out = jax.nn.relu(self.conv(out, path + ("conv2",), fold=path + ("bn3",)))
    return self.conv(out, path + ("conv3",)) + skip

  def hourglass(self, x: jax.Array, path: tuple[str, ...], depth: int
                ) -> tuple[jax.Array, dict[int, jax.Array]]:
    """models.hourglass.Hourglass: (out, {decoder height: features})."""
    up1 = self.residual(x, path + ("up1",))
    low1 = self.residual(_max_pool2(x), path + ("low1",))
    if depth > 1:
      low2, decoder = self.hourglass(low1, path + ("low2",), depth - 1)
    else:
      low2, decoder = self.residual(low1, path + ("low2",)), {}
    out = up1 + _upsample2(self.residual(low2, path + ("low3",)))
    return out, {**decoder, out.shape[2]: out}

  def stack(self, x: jax.Array, i: int) -> tuple[jax.Array, dict[int, jax.Array], jax.Array]:
    """models.hourglass_stack.HourglassStack number i: (next x, {height: heatmaps}, features)."""
    path = (f"stack{i}",)
    hg, decoder = self.hourglass(x, path + ("hg",), self.m.depth)
    feat = self.residual(hg, path + ("features_res",))
    feat = self.conv(feat, path + ("features_conv",), bn=True, relu=True)
    preds = self.conv(feat, path + ("out",))
    heatmaps = {preds.shape[2]: preds}
    if self.m.mss:
      for res in sorted(decoder):
        if res != preds.shape[2]:
          heatmaps[res] = self.conv(decoder[res], path + (f"mss_head_r{res}",))
    if i != self.m.num_stacks - 1:
      x = (x + self.conv(preds, path + ("merge_preds",))
           + self.conv(feat, path + ("merge_features",)))
    return x, dict(sorted(heatmaps.items())), feat

  def msr(self, heatmaps: dict[int, jax.Array], feat: jax.Array) -> jax.Array:
    """models.msr_net.MSRNet on NCHW maps."""
    h, w = feat.shape[2:]
    resized = []
    for res in sorted(heatmaps):
      x = heatmaps[res]
      if x.shape[2:] != (h, w):
        rows = jnp.asarray(resize_matrix(x.shape[2], h, self.m.msr_upsample), x.dtype)
        cols = jnp.asarray(resize_matrix(x.shape[3], w, self.m.msr_upsample), x.dtype)
        # Two MatMuls over the trailing axes (no Transpose): rows·x, then x·colsᵀ.
        x = jnp.matmul(jnp.matmul(rows, x, precision=jax.lax.Precision.HIGHEST), cols.T,
                       precision=jax.lax.Precision.HIGHEST)
      resized.append(x)
    x = jnp.concatenate(resized + [feat], axis=1)
    x = self.conv(x, ("msr", "fuse"))
    x, _ = self.hourglass(x, ("msr", "hg"), self.m.depth)
    x = self.residual(x, ("msr", "features_res"))
    x = self.conv(x, ("msr", "features_conv"), bn=True, relu=True)
    return self.conv(x, ("msr", "out"))

  def __call__(self, images: jax.Array) -> jax.Array:
    x = images.astype(self.dtype)
    x = self.conv(x, ("pre_conv",), stride=2, bn=True, relu=True)
    x = self.residual(x, ("pre_res1",))
    x = _max_pool2(x)
    x = self.residual(x, ("pre_res2",))
    x = self.residual(x, ("pre_res3",))
    stacks, feat = [], x
    for i in range(self.m.num_stacks):
      x, heatmaps, feat = self.stack(x, i)
      stacks.append(heatmaps)
    last = stacks[-1][max(stacks[-1])]
    if not self.m.msr:
      return last.astype(jnp.float32)
    final = self.msr(stacks[-1], feat)
    if self.m.get("msr_residual", False):
      final = last + final
    return final.astype(jnp.float32)


def _max_pool2(x: jax.Array) -> jax.Array:
  """(B, C, H, W) → (B, C, H/2, W/2): 2×2 max, stride 2. The converter writes it as a MaxPool
  over all four axes, which `onnx_export` rewrites to a 2-D MaxPool."""
  return jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")


def _upsample2(x: jax.Array) -> jax.Array:
  """(B, C, H, W) → (B, C, 2H, 2W), nearest: a transposed depthwise convolution with a 2×2
  kernel of ones, stride 2 (one ConvTranspose in ONNX, which `onnx_export` rewrites to a
  nearest Resize)."""
  c = x.shape[1]
  return jax.lax.conv_general_dilated(
      x, jnp.ones((c, 1, 2, 2), x.dtype), (1, 1), ((1, 1), (1, 1)), lhs_dilation=(2, 2),
      dimension_numbers=_NCHW, feature_group_count=c)


def folded_heatmaps_fn(variables: Mapping[str, Any], model: ml_collections.ConfigDict):
  """images (B, H, W, 3) float in [0, 1] → final heatmaps (B, H/4, W/4, K) float32, as
  `PoseNet.apply(variables, images)["final"]`, computed in NCHW with folded BatchNorm."""
  net = _Net(variables, model)
  return lambda images: net(images.transpose(0, 3, 1, 2)).transpose(0, 2, 3, 1)


def _mirror_w(x: jax.Array) -> jax.Array:
  """(..., W) reversed along W as a product with the exchange matrix: one MatMul, where the
  converter writes `x[..., ::-1]` as a Gather between two Transposes. Exact (one 1 per
  column)."""
  w = x.shape[-1]
  return jnp.matmul(x, jnp.asarray(np.eye(w, dtype=np.float32)[::-1], x.dtype))


def deploy_predict_fn(variables: Mapping[str, Any], config: ml_collections.ConfigDict):
  """crops uint8 (B, H, W, 3) → (keypoints (B, K, 2) in crop px, scores (B, K)): what
  `inference.predict_step` computes, with the folded NCHW network and its flip test in NCHW.

  The crops are transposed once on the way in and the heatmaps once before decoding; the
  mirror image and the mirrored heatmaps are products with exchange matrices, and the
  left/right swap of the mirrored heatmaps a 1×1 convolution with a permutation matrix.
  """
  net = _Net(variables, config.model)
  codec = MultiScaleCodec.from_config(config)
  flip = bool(config.decode.flip_test)
  perm = skeleton.flip_permutation(config.model.num_joints,
                                   tuple(skeleton.from_config(config).flip_pairs))
  swap = np.eye(len(perm), dtype=np.float32)[list(perm)][:, :, None, None]   # (K, K, 1, 1)

  def predict(images: jax.Array) -> tuple[jax.Array, jax.Array]:
    x = (images.astype(jnp.float32) / 255.0).transpose(0, 3, 1, 2)            # (B, 3, H, W)
    if not flip:
      return codec.decode(net(x).transpose(0, 2, 3, 1))
    # One network call on the crops and their mirrors, split by a reshape (as flip_test).
    both = net(jnp.concatenate([x, _mirror_w(x)], axis=0))                  # (2B, K, h, w)
    pair = both.reshape(2, x.shape[0], *both.shape[1:])
    plain, mirrored = (jax.lax.index_in_dim(pair, i, keepdims=False) for i in (0, 1))
    unmirrored = jax.lax.conv_general_dilated(_mirror_w(mirrored), jnp.asarray(swap),
                                              (1, 1), ((0, 0), (0, 0)),
                                              dimension_numbers=_NCHW)
    return codec.decode((0.5 * (plain + unmirrored)).transpose(0, 2, 3, 1))

  return predict
