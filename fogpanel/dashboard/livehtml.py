"""An HTML pane for text that changes on every tick in every open session.

On each change, Panel's HTML pane recomputes all of its model's properties (stylesheets, design
modifiers, a file-existence check) and escapes the text again, once per session; at a tick per
second over 100+ sessions that was the largest server cost of the page. A :class:`LiveHTML`
change sets only the model's ``text``, escaped once per distinct string for every session
(the strings come from the shared renders of :mod:`fogpanel.dashboard.memo`).
"""

from __future__ import annotations

import functools
import html

import panel as pn
from bokeh.model import Model

__all__ = ["LiveHTML", "escaped"]


@functools.lru_cache(maxsize=128)
def escaped(text: str) -> str:
    """The text as Panel's HTML model carries it (its frontend unescapes it).

    >>> escaped('<b title="x">1 & 2</b>')
    '&lt;b title=&quot;x&quot;&gt;1 &amp; 2&lt;/b&gt;'
    """
    return html.escape(text)


class LiveHTML(pn.pane.HTML):
    """``pn.pane.HTML`` whose ``object`` updates set ``text`` and nothing else."""

    def _update(self, ref: str, model: Model) -> None:
        text = self.object
        model.text = escaped(text if isinstance(text, str) else str(text or ""))
