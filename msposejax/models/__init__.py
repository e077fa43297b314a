"""Flax Linen modules of the stacked hourglass, MSS-net and MSR-net."""

from msposejax.models.pose_net import PoseNet, pose_net_from_config

__all__ = ["PoseNet", "pose_net_from_config"]
