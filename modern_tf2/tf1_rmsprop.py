"""Keras 3 optimizers that reproduce the RMSProp updates of the TF1 era.

Three RMSProps meet in this project, and they are three different algorithms
(g the gradient, ms the mean-square accumulator, rho its decay):

====================================  ==============  =============================
optimizer                             ms starts at    step
====================================  ==============  =============================
``tf.compat.v1.train.RMSPropOptimizer``  ones         ``lr * g / sqrt(ms + eps)``
Keras 2 ``RMSprop`` (2.2.4, tf.keras     zeros        ``lr * g / (sqrt(ms) + eps)``
2.x, tf-keras ``optimizers.legacy``)
Keras 3 ``RMSprop`` (3.15)               zeros        ``lr * g / sqrt(ms + eps)``
====================================  ==============  =============================

with ``ms <- rho * ms + (1 - rho) * g^2`` first in all three. The defaults differ too:
epsilon 1e-10 in TF1, 1e-7 in Keras. With TF1's ones, early TF1 steps are tiny
(``g / sqrt(0.1 g^2 + 0.9)``) where Keras's are ``3.16 lr sign(g)``; with the pylessons
DQN's epsilon of 0.01, Keras 3 divides by ``sqrt(ms + 0.01)`` >= 0.1 where Keras 2
divided by ``sqrt(ms) + 0.01`` >= 0.01: up to ten times smaller steps on weights with
small gradients.

``TF1RMSprop`` computes TF1's kernel (``ApplyRMSProp``) exactly, in its order
(Stable-Baselines3's ``RMSpropTFLike`` does the same for PyTorch); ``Keras2RMSprop``
computes Keras 2's. ``compat_tests`` holds each against the original.
"""
from __future__ import annotations

import keras
from keras import ops


class TF1RMSprop(keras.optimizers.Optimizer):
    """``tf.compat.v1.train.RMSPropOptimizer``:
    ms <- ms + (g^2 - ms) * (1 - rho); mom <- momentum * mom + lr * g / sqrt(ms + eps);
    var <- var - mom."""

    initial_ms = "ones"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-10,
                 name="tf1_rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._ms = [self.add_variable_from_reference(v, "ms", initializer=self.initial_ms)
                    for v in var_list]
        self._mom = [self.add_variable_from_reference(v, "momentum", initializer="zeros")
                     for v in var_list]

    def _step(self, g, ms, lr):
        return g * lr / ops.sqrt(ms + self.epsilon)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        ms, mom = self._ms[i], self._mom[i]
        self.assign(ms, ms + (ops.square(g) - ms) * (1.0 - self.rho))
        self.assign(mom, mom * self.momentum + self._step(g, ms, lr))
        self.assign_sub(variable, mom)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon})
        return config


class Keras2RMSprop(TF1RMSprop):
    """Keras 2's ``RMSprop`` (no momentum, not centered), as tf-keras's legacy optimizer
    computes it: ms from zeros; var <- var - lr * g / (sqrt(ms) + eps)."""

    initial_ms = "zeros"

    def __init__(self, learning_rate=0.001, rho=0.9, epsilon=1e-7, name="keras2_rmsprop", **kwargs):
        super().__init__(learning_rate=learning_rate, rho=rho, momentum=0.0, epsilon=epsilon,
                         name=name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        ms = self._ms[self._get_variable_index(variable)]
        ms_t = self.rho * ms + (1.0 - self.rho) * ops.square(g)  # rms_t, in tf-keras's order
        self.assign(ms, ms_t)
        self.assign_sub(variable, lr * g / (ops.sqrt(ms_t) + self.epsilon))
