"""HTTP plumbing shared by the API simulators (``sandbox.pdi``, ``sandbox.mobilize``).

Each simulator is an ``App`` (``messages``) that turns a ``Request`` into a ``Response``;
``http_server`` owns the socket side (threads, JSON encoding), ``faults`` the switches that
tests flip at run time (``switches``), ``admin`` the ``/__admin/*`` routes every app has,
``answers`` the base of an app's answers to the open questions of its API reference, and
``cli`` the command line that starts a simulator.
"""
