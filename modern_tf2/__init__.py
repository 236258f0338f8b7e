"""TF2 forms of the programs: eager execution, tf.GradientTape, Keras 3, gymnasium."""

import tfrepro  # noqa: E402,F401 - TensorFlow's thread policy, set before TensorFlow starts
