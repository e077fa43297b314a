"""Newell's stacked hourglass in PyTorch, laid out as princeton-vl/pytorch_stacked_hourglass.

Our own code, written so that module and parameter names match that repository's
`models/posenet.py` and `models/layers.py` (`pre.0.conv.weight`, `hgs.3.0.low2.up1.bn1.weight`,
`merge_preds.0.conv.conv.bias`, ...): its published checkpoints load into `PoseNet` with
`load_state_dict`, and `msposejax import-torch` maps these names onto ours. It is the
reference of the parity tests and the PyTorch side of `bench/train_throughput.py`.

Input: (B, H, W, 3) float images in [0, 1], as princeton-vl's data loader gives them (the
model permutes to NCHW). Output: (B, N, K, H/4, W/4) heatmaps of the N stacks.
"""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F

Pool = nn.MaxPool2d


class Conv(nn.Module):
  """conv(k×k, stride, bias, padding (k−1)/2) [→ BN] [→ ReLU]."""

  def __init__(self, inp_dim: int, out_dim: int, kernel_size: int = 3, stride: int = 1,
               bn: bool = False, relu: bool = True):
    super().__init__()
    self.inp_dim = inp_dim
    self.conv = nn.Conv2d(inp_dim, out_dim, kernel_size, stride, padding=(kernel_size - 1) // 2,
                          bias=True)
    self.relu = nn.ReLU() if relu else None
    self.bn = nn.BatchNorm2d(out_dim) if bn else None

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    x = self.conv(x)
    if self.bn is not None:
      x = self.bn(x)
    if self.relu is not None:
      x = self.relu(x)
    return x


class Residual(nn.Module):
  """Pre-activation bottleneck; `skip_layer` always exists (as there) but is used only when
  the channel count changes."""

  def __init__(self, inp_dim: int, out_dim: int):
    super().__init__()
    mid = out_dim // 2
    self.relu = nn.ReLU()
    self.bn1 = nn.BatchNorm2d(inp_dim)
    self.conv1 = Conv(inp_dim, mid, 1, relu=False)
    self.bn2 = nn.BatchNorm2d(mid)
    self.conv2 = Conv(mid, mid, 3, relu=False)
    self.bn3 = nn.BatchNorm2d(mid)
    self.conv3 = Conv(mid, out_dim, 1, relu=False)
    self.skip_layer = Conv(inp_dim, out_dim, 1, relu=False)
    self.need_skip = inp_dim != out_dim

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    residual = self.skip_layer(x) if self.need_skip else x
    out = self.conv1(self.relu(self.bn1(x)))
    out = self.conv2(self.relu(self.bn2(out)))
    out = self.conv3(self.relu(self.bn3(out)))
    return out + residual


class Hourglass(nn.Module):
  """Recursive hourglass of depth n: up1 + upsample(low3(low2(low1(pool(x)))))."""

  def __init__(self, n: int, f: int, bn=None, increase: int = 0):
    super().__init__()
    nf = f + increase
    self.up1 = Residual(f, f)
    self.pool1 = Pool(2, 2)
    self.low1 = Residual(f, nf)
    self.n = n
    self.low2 = Hourglass(n - 1, nf, bn=bn) if n > 1 else Residual(nf, nf)
    self.low3 = Residual(nf, f)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    up1 = self.up1(x)
    low3 = self.low3(self.low2(self.low1(self.pool1(x))))
    return up1 + F.interpolate(low3, size=up1.shape[2:], mode="nearest")


class Merge(nn.Module):
  """A 1×1 conv from one stack's predictions/features into the next stack's input."""

  def __init__(self, x_dim: int, y_dim: int):
    super().__init__()
    self.conv = Conv(x_dim, y_dim, 1, relu=False, bn=False)

  def forward(self, x: torch.Tensor) -> torch.Tensor:
    return self.conv(x)


class PoseNet(nn.Module):
  """princeton-vl's PoseNet(nstack, inp_dim, oup_dim); `depth` and `stem` generalise it
  (depth 4 and stem (64, 128) are the published model)."""

  def __init__(self, nstack: int, inp_dim: int, oup_dim: int, bn: bool = False,
               increase: int = 0, depth: int = 4, stem: tuple[int, int] = (64, 128)):
    super().__init__()
    c1, c2 = stem
    self.nstack = nstack
    self.pre = nn.Sequential(Conv(3, c1, 7, 2, bn=True, relu=True), Residual(c1, c2),
                             Pool(2, 2), Residual(c2, c2), Residual(c2, inp_dim))
    self.hgs = nn.ModuleList([nn.Sequential(Hourglass(depth, inp_dim, bn, increase))
                              for _ in range(nstack)])
    self.features = nn.ModuleList([
        nn.Sequential(Residual(inp_dim, inp_dim), Conv(inp_dim, inp_dim, 1, bn=True, relu=True))
        for _ in range(nstack)])
    self.outs = nn.ModuleList([Conv(inp_dim, oup_dim, 1, relu=False, bn=False)
                               for _ in range(nstack)])
    self.merge_features = nn.ModuleList([Merge(inp_dim, inp_dim) for _ in range(nstack - 1)])
    self.merge_preds = nn.ModuleList([Merge(oup_dim, inp_dim) for _ in range(nstack - 1)])

  def forward(self, imgs: torch.Tensor) -> torch.Tensor:
    x = self.pre(imgs.permute(0, 3, 1, 2))
    preds_per_stack = []
    for i in range(self.nstack):
      feature = self.features[i](self.hgs[i](x))
      preds = self.outs[i](feature)
      preds_per_stack.append(preds)
      if i < self.nstack - 1:
        x = x + self.merge_preds[i](preds) + self.merge_features[i](feature)
    return torch.stack(preds_per_stack, 1)


def from_config(model_config, channels_last: bool = False) -> PoseNet:
  """The reference network with the shape of our `config.model` (mss/msr are ignored)."""
  net = PoseNet(model_config.num_stacks, model_config.features, model_config.num_joints,
                depth=model_config.depth, stem=tuple(model_config.stem_features))
  return net.to(memory_format=torch.channels_last) if channels_last else net


def randomize_batch_norm(net: nn.Module, generator: torch.Generator) -> None:
  """Random running statistics and affine parameters, so parity tests exercise them."""
  with torch.no_grad():
    for m in net.modules():
      if isinstance(m, nn.BatchNorm2d):
        m.running_mean.uniform_(-0.5, 0.5, generator=generator)
        m.running_var.uniform_(0.5, 1.5, generator=generator)
        m.weight.uniform_(0.5, 1.5, generator=generator)
        m.bias.uniform_(-0.2, 0.2, generator=generator)
