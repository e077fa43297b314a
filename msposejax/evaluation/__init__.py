"""Evaluation: PCKh (the MPII protocol and files), PCK (LSP), flip test, and COCO's top-down
post-processing (rescoring, OKS-NMS, results rows) and OKS AP (faster-coco-eval)."""
