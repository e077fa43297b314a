"""Evaluation: PCKh (MPII protocol) and flip test."""
