"""TF2 forms of the programs: eager execution, tf.GradientTape, Keras 3, gymnasium."""
