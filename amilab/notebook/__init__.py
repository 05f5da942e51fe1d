"""Jupyter integration: the ``%ami`` magics (:mod:`.magics`), the connections they own
(:mod:`.connections`) and the live monitor (:mod:`.monitor`).

Nothing here is imported by the rest of amilab, and importing this package
imports neither IPython nor ipywidgets: ``%load_ext amilab`` loads
:mod:`amilab.notebook.magics`, and ``amilab.EventMonitor`` loads the monitor.
"""
