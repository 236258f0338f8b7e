"""The engines: what runs many seeds of a built-in program at once (``lockstep`` mode) and
the program-specific parts both forms share, framework-free (``meertens``, ``reinforce``,
``imitation``), and the CartPole step as TensorFlow ops (``graph_cartpole``) for the in-graph
frame loop. They sit beside ``infra`` and import ``core`` only; the forms' lockstep agents
are ``legacy_tf1/engines.py`` and ``modern_tf2/engines.py``."""
