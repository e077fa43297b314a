"""Model state and checkpoints, below both training and inference (IO: checkpoints).

`variables`: the model's abstract variables; `train_state`: the training state pytree;
`checkpointing`: save/restore/resolve/best step, weights-only restore, `init_from`'s partial
load. Prediction, export and import-torch use only this and the model: never optax or the
trainer.
"""
