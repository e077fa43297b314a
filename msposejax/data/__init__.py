"""Input side: datasets (TFDS), crop geometry, augmentation, keypoint masking, grain pipeline."""
