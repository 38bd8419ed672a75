"""A src-layout library builds and compiles the model: the head-only phase recompiles after
freezing (right), the unfreeze in the library is not followed by a compile (ignored by both)."""

import numpy as np
from ganlib import models

x = np.random.rand(16, 4).astype("float32")
y = np.random.rand(16, 1).astype("float32")
model = models.classifier()
for layer in model.layers[:-1]:
    layer.trainable = False
model.compile(optimizer="sgd", loss="mse")
model.fit(x, y, verbose=0)  # trains: head
models.unfreeze_all(model)  # K2 K3: TFC004
model.fit(x, y, verbose=0)  # trains: base, head
