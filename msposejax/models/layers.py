"""Building blocks of Newell's stacked hourglass, layer for layer as princeton-vl's port.

Names follow the PyTorch reference (`conv`, `bn`, `bn1..3`, `conv1..3`, `skip_layer`) so a
state dict maps onto our parameters by a name table. Every convolution carries a bias, as
there. NHWC throughout.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

Dtype = Any

# PyTorch BatchNorm2d defaults (momentum 0.1 there = 0.9 decay here, eps 1e-5), so imported
# running statistics mean the same thing.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def batch_norm(train: bool, dtype: Dtype, name: str) -> nn.BatchNorm:
  return nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, epsilon=BN_EPSILON,
                      dtype=dtype, param_dtype=jnp.float32, name=name)


class PointwiseConv(nn.Module):
  """A 1×1 convolution as a matrix product over channels; same parameters as nn.Conv.

  Two thirds of the hourglass's convolutions are 1×1. XLA:CPU lowers the weight gradient of
  a 1×1 `conv_general_dilated` to a convolution whose window is the whole feature map, which
  runs slowly; as a `dot_general` the same gradient is a plain matrix product (measured with
  bench/profile_step.py; result: docs/benchmarks.md#what-the-profile-showed-and-what-we-fixed).
  Parameters `kernel` (1, 1, I, O) and `bias` (O,), initialised as nn.Conv would, so
  checkpoints and the PyTorch importer see no difference.
  """
  features: int
  dtype: Dtype = jnp.float32
  kernel_init: Any = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    kernel = self.param("kernel", self.kernel_init, (1, 1, x.shape[-1], self.features),
                        jnp.float32)
    bias = self.param("bias", nn.initializers.zeros_init(), (self.features,), jnp.float32)
    x = x.astype(self.dtype)
    y = jax.lax.dot_general(x, kernel[0, 0].astype(self.dtype),
                            (((x.ndim - 1,), (0,)), ((), ())))
    return y + bias.astype(self.dtype)


class Conv(nn.Module):
  """conv(k×k, stride, bias) [→ BN] [→ ReLU], padded (k−1)/2 on each side like PyTorch.

  Attributes:
    features: output channels.
    kernel: square kernel size.
    stride: square stride.
    bn: add BatchNorm after the convolution.
    relu: add ReLU at the end.
    dtype: computation dtype (parameters stay float32).
    kernel_init: initialiser of the convolution kernel (Flax's default: LeCun normal).
  """
  features: int
  kernel: int = 3
  stride: int = 1
  bn: bool = False
  relu: bool = True
  dtype: Dtype = jnp.float32
  kernel_init: Any = nn.initializers.lecun_normal()

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    if self.kernel == 1 and self.stride == 1:
      x = PointwiseConv(self.features, self.dtype, self.kernel_init, name="conv")(x)
    else:
      pad = (self.kernel - 1) // 2
      x = nn.Conv(self.features, (self.kernel, self.kernel), strides=(self.stride, self.stride),
                  padding=((pad, pad), (pad, pad)), use_bias=True, dtype=self.dtype,
                  param_dtype=jnp.float32, kernel_init=self.kernel_init, name="conv")(x)
    if self.bn:
      x = batch_norm(train, self.dtype, "bn")(x)
    if self.relu:
      x = nn.relu(x)
    return x


class Residual(nn.Module):
  """Pre-activation bottleneck: BN-ReLU-conv1×1(C/2) → BN-ReLU-conv3×3(C/2) → BN-ReLU-conv1×1(C).

  The identity shortcut becomes a 1×1 conv (`skip_layer`) only when channels change.

  Attributes:
    features: output channels C.
    dtype: computation dtype.
  """
  features: int
  dtype: Dtype = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    mid = self.features // 2
    if x.shape[-1] != self.features:
      residual = Conv(self.features, 1, relu=False, dtype=self.dtype, name="skip_layer")(x)
    else:
      residual = x
    out = nn.relu(batch_norm(train, self.dtype, "bn1")(x))
    out = Conv(mid, 1, relu=False, dtype=self.dtype, name="conv1")(out)
    out = nn.relu(batch_norm(train, self.dtype, "bn2")(out))
    out = Conv(mid, 3, relu=False, dtype=self.dtype, name="conv2")(out)
    out = nn.relu(batch_norm(train, self.dtype, "bn3")(out))
    out = Conv(self.features, 1, relu=False, dtype=self.dtype, name="conv3")(out)
    return out + residual


# Heatmap output layers start near zero (normal, std 0.001, as HRNet): random large outputs
# would otherwise cost hundreds of steps of unlearning before any peak is learnt.
HEATMAP_INIT = nn.initializers.normal(stddev=0.001)


def max_pool2(x: jax.Array) -> jax.Array:
  """2×2 max pool with stride 2 (B, H, W, C) → (B, H/2, W/2, C); H and W even.

  A max over a reshape rather than `reduce_window`: its gradient is an elementwise mask,
  where reduce_window's select-and-scatter became index tracking plus a scatter on XLA:CPU
  (bench/profile_step.py; result: docs/benchmarks.md#what-the-profile-showed-and-what-we-fixed).
  Same values; on exact ties in a window the gradient is shared between them instead of going
  to one.
  """
  b, h, w, c = x.shape
  return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def upsample2_nearest(x: jax.Array) -> jax.Array:
  """Nearest-neighbour ×2 upsampling (B, H, W, C) → (B, 2H, 2W, C), as a broadcast (its
  gradient is a plain sum over each 2×2 block)."""
  b, h, w, c = x.shape
  return jnp.broadcast_to(x[:, :, None, :, None, :], (b, h, 2, w, 2, c)).reshape(
      b, 2 * h, 2 * w, c)
