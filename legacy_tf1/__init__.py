"""TF1 graph forms of the programs: placeholders, sessions, compute/apply_gradients,
tf.train.Saver, through ``tensorflow.compat.v1``. Every program builds in its own
``tf.Graph()``; nothing here flips a process-wide switch. Stays within the
TensorFlow 1.15 API so the same files run on real TF1."""
