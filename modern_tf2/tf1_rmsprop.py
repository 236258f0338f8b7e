"""A Keras 3 optimizer that reproduces ``tf.compat.v1.train.RMSPropOptimizer``.

Keras RMSprop and TF1's RMSProp are different algorithms in two details:

1. TF1 starts its mean-square accumulator ``ms`` at **ones**; Keras at zeros. Early
   steps are therefore tiny in TF1 (``g / sqrt(0.1 g^2 + 0.9)``) and large in Keras
   (``g / sqrt(0.1 g^2) = 3.16 sign(g)``).
2. TF1 puts epsilon **inside** the square root, ``sqrt(ms + eps)``; Keras adds it outside,
   ``sqrt(ms) + eps``. TF1's default epsilon is 1e-10, Keras's 1e-7.

TF1's kernel (``ApplyRMSProp``), with rho the decay:
    ms  <- ms + (g^2 - ms) * (1 - rho)
    mom <- momentum * mom + lr * g / sqrt(ms + eps)
    var <- var - mom
This class computes exactly that, in that order (compare: Stable-Baselines3's
``RMSpropTFLike`` does the same for PyTorch).
"""
from __future__ import annotations

import keras
from keras import ops


class TF1RMSprop(keras.optimizers.Optimizer):
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
        self._ms = [self.add_variable_from_reference(v, "ms", initializer="ones") for v in var_list]
        self._mom = [self.add_variable_from_reference(v, "momentum", initializer="zeros")
                     for v in var_list]

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        i = self._get_variable_index(variable)
        ms, mom = self._ms[i], self._mom[i]
        self.assign(ms, ms + (ops.square(g) - ms) * (1.0 - self.rho))
        self.assign(mom, mom * self.momentum + g * lr / ops.sqrt(ms + self.epsilon))
        self.assign_sub(variable, mom)

    def get_config(self):
        config = super().get_config()
        config.update({"rho": self.rho, "momentum": self.momentum, "epsilon": self.epsilon})
        return config
