"""The per-step timer the Keras benchmarks share."""

from __future__ import annotations

import time

import tfcollections as tfc


class StepTimes(tfc.keras.Callback):
    """Per-step times, under either Keras's fit."""

    def __init__(self) -> None:
        super().__init__()
        self.times: list[float] = []

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)
