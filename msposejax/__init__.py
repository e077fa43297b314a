"""msposejax: Multi-Scale Structure-Aware Network for human pose estimation in JAX."""

__version__ = "0.1.0"
