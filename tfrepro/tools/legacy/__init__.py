"""``tfrepro legacy``: TF1-era scripts by anyone, run unchanged on today's TensorFlow.

``boot`` runs the script in a fresh process with the shims (``tfshim`` for TensorFlow and
``tf.contrib``, ``keras2`` for Keras 2, ``gym021`` for gym 0.21, ``py2`` for Python 2
source); ``report`` builds the migration report from what ran; ``state`` holds the run's
options. docs/legacy.md has the table of what is covered.
"""
