"""ActionResult with DataFrame helpers: what the client hands back for every action.

The protocol's :class:`amilab.protocol.result.ActionResult` is pure (no
pandas); this subclass adds ``to_frame()`` and ``.df``, which call
:func:`amilab.frames.result_frame`. pandas loads on first use only, so
``import amilab`` and a client that never builds a frame stay light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from amilab.protocol.result import ActionResult as _ProtocolResult

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ActionResult"]


class ActionResult(_ProtocolResult):
    """The response first, then the list's events, the ``...Complete`` event last; plus frames."""

    def to_frame(
        self, include_response: bool = False, *, numeric: bool | Literal["known"] = False
    ) -> pd.DataFrame:
        """The list items as a DataFrame (the response alone when there are none)."""
        # Deferred to first use: amilab.frames imports pandas, which the client must not
        # load at import (frames does not import this module: no cycle).
        from amilab.frames import result_frame

        return result_frame(self, include_response, numeric=numeric)

    @property
    def df(self) -> pd.DataFrame:
        """Shortcut for :meth:`to_frame` with its defaults."""
        return self.to_frame()
