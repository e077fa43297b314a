"""Model state and checkpoints, below both training and inference (IO: checkpoints).

`variables`: the model's abstract variables and `init_from`'s partial load; `train_state`:
the training state pytree; `checkpointing`: the `Checkpointer` (one workdir's orbax manager:
resume, save, restore, weights-only restore, best step) and `resolve`; `retention`: which
steps are kept; `damage`: which file of a damaged step is bad; `full_disk`: a refused save.
Prediction, export and import-torch use only this and the model: never optax or the trainer.
"""
