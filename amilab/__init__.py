"""amilab: the Asterisk Manager Interface (AMI) in Python and Jupyter.

Public names are listed in ``__all__``. Importing amilab is cheap: pandas,
IPython and ipywidgets load only when a name that needs them is first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from amilab.errors import (
    ActionError,
    ActionTimeout,
    AMIError,
    AuthenticationError,
    ConnectionLost,
    LoopThreadError,
    NotConnected,
    ProtocolError,
)
from amilab.protocol import Action, Message

if TYPE_CHECKING:
    from amilab.client import AMIClient
    from amilab.dataset import open_dataset
    from amilab.frames import to_frame
    from amilab.notebook.monitor import EventMonitor
    from amilab.recorder import EventRecorder, load_capture, load_frame, replay
    from amilab.results import ActionResult
    from amilab.session import Session, connect

__version__ = "0.1.0"

__all__ = [
    "AMIClient",
    "AMIError",
    "Action",
    "ActionError",
    "ActionResult",
    "ActionTimeout",
    "AuthenticationError",
    "ConnectionLost",
    "EventMonitor",
    "EventRecorder",
    "LoopThreadError",
    "Message",
    "NotConnected",
    "ProtocolError",
    "Session",
    "__version__",
    "connect",
    "load_capture",
    "load_frame",
    "load_ipython_extension",
    "open_dataset",
    "replay",
    "to_frame",
    "unload_ipython_extension",
]

_LAZY = {
    "ActionResult": "amilab.results",
    "AMIClient": "amilab.client",
    "Session": "amilab.session",
    "connect": "amilab.session",
    "to_frame": "amilab.frames",
    "EventRecorder": "amilab.recorder",
    "load_capture": "amilab.recorder",
    "load_frame": "amilab.recorder",
    "replay": "amilab.recorder",
    "EventMonitor": "amilab.notebook.monitor",
    "open_dataset": "amilab.dataset",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'amilab' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext amilab``: register the ``%ami`` / ``%%ami`` magics."""
    from amilab.notebook.magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext amilab``: close the notebook's session and its thread."""
    from amilab.notebook.magics import unload_ipython_extension as unload

    unload(ipython)
