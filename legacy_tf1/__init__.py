"""TF1 graph forms of the programs: placeholders, sessions, compute/apply_gradients,
tf.train.Saver, through ``tensorflow.compat.v1``. Every program builds in its own
``tf.Graph()``; nothing here flips a TensorFlow switch (the package's thread policy is
two environment variables, set only where unset: ``tfrepro/__init__.py``). Stays within the
TensorFlow 1.15 API so the same files run on real TF1."""

import tfrepro  # noqa: E402,F401 - TensorFlow's thread policy, set before TensorFlow starts
