"""tfrepro: classic CartPole programs from four books and blog posts, kept alive on
today's TensorFlow in TF1 graph form (legacy_tf1) and as TF2 ports (modern_tf2)."""

__version__ = "0.1.0"
