def set_trainable(model, flag):
    """Sets the flag on the model and each of its layers."""
    model.trainable = flag
    for layer in model.layers:
        layer.trainable = flag
