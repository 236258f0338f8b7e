"""tfrepro-a2c-example: a user's own TF1/TF2 program pair plugged into tfrepro.

``pair`` holds the config and the ``ProgramSpec`` (the entry point names it); ``a2c_tf1``
is the TF1 graph form, ``a2c_tf2`` the TF2 port. Nothing is imported here, so listing
programs never loads TensorFlow.
"""
