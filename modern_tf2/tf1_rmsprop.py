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

KERAS3 = keras.__version__.startswith("3.")
if KERAS3:
    from keras import ops
else:  # Keras 2 (tf.keras on TF <= 2.15): the same math in TensorFlow ops
    import tensorflow as tf

    class ops:  # type: ignore[no-redef]  # noqa: N801 - stands in for keras.ops
        sqrt, square, cast = staticmethod(tf.sqrt), staticmethod(tf.square), staticmethod(tf.cast)


class _Slots(keras.optimizers.Optimizer):
    """The few calls in which Keras 3's optimizer API differs from Keras 2's (2.11-2.15)."""

    if KERAS3:
        def __init__(self, learning_rate, name, **kwargs):
            super().__init__(learning_rate=learning_rate, name=name, **kwargs)

        def build(self, var_list):
            if self.built:
                return
            super().build(var_list)
            self._make_slots(var_list)

        def _slot(self, v, name, init):
            return self.add_variable_from_reference(v, name, initializer=init)

        def update_step(self, gradient, variable, learning_rate):
            self._update(gradient, variable, learning_rate, self._get_variable_index(variable))

        def _set(self, var, value):
            self.assign(var, value)

        def _sub(self, var, value):
            self.assign_sub(var, value)
    else:
        def __init__(self, learning_rate, name, **kwargs):
            super().__init__(name=name, **kwargs)
            self._learning_rate = self._build_learning_rate(learning_rate)

        def build(self, var_list):
            super().build(var_list)
            if getattr(self, "_built", False):
                return
            self._built = True
            self._make_slots(var_list)

        def _slot(self, v, name, init):
            value = tf.ones_like(v) if init == "ones" else tf.zeros_like(v)
            return self.add_variable_from_reference(v, name, initial_value=value)

        def update_step(self, gradient, variable):  # type: ignore[misc]  # Keras 2's signature
            self._update(gradient, variable, self.learning_rate,
                         self._index_dict[self._var_key(variable)])

        def _set(self, var, value):
            var.assign(value)

        def _sub(self, var, value):
            var.assign_sub(value)

        def get_config(self):
            config = super().get_config()
            config["learning_rate"] = self._serialize_hyperparameter(self._learning_rate)
            return config


class TF1RMSprop(_Slots):
    """``tf.compat.v1.train.RMSPropOptimizer``:
    ms <- ms + (g^2 - ms) * (1 - rho); mom <- momentum * mom + lr * g / sqrt(ms + eps);
    var <- var - mom."""

    initial_ms = "ones"

    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-10,
                 name="tf1_rmsprop", **kwargs):
        super().__init__(learning_rate, name, **kwargs)
        self.rho = rho
        self.momentum = momentum
        self.epsilon = epsilon

    def _make_slots(self, var_list):
        self._ms = [self._slot(v, "ms", self.initial_ms) for v in var_list]
        self._mom = [self._slot(v, "momentum", "zeros") for v in var_list]

    def _step(self, g, ms, lr):
        return g * lr / ops.sqrt(ms + self.epsilon)

    def _update(self, gradient, variable, learning_rate, i):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        ms, mom = self._ms[i], self._mom[i]
        self._set(ms, ms + (ops.square(g) - ms) * (1.0 - self.rho))
        self._set(mom, mom * self.momentum + self._step(g, ms, lr))
        self._sub(variable, mom)

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

    def _update(self, gradient, variable, learning_rate, i):
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        ms = self._ms[i]
        ms_t = self.rho * ms + (1.0 - self.rho) * ops.square(g)  # rms_t, in tf-keras's order
        self._set(ms, ms_t)
        self._sub(variable, lr * g / (ops.sqrt(ms_t) + self.epsilon))
