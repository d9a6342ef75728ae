"""A whole card as one model: server-rendered HTML sections, clicks reported back by name.

Every Panel object in a session costs ~30 KiB (its parameters' watchers, its Bokeh model, the
layout row a pane builds), whatever it shows; a card made of a title, tiles, a filter and a
table was half a dozen of them. An :class:`HTMLCard` is one: the sections are HTML strings
rendered once per message for every session (:mod:`fogpanel.dashboard.memo`), and a click on
any element carrying ``data-action`` (and optionally ``data-arg``) comes back as
``action = [name, argument, nonce]``, dispatched to the handler registered with :meth:`on`; a
``<select data-action=...>`` reports its new value the same way when it changes.

Sections go through a ``param.List`` and a script: Panel passes every string parameter of a
ReactiveHTML through its HTML sanitizer, per session and update, which strips table rows and
styles. Only changed sections are replaced, and elements with ``data-scroll`` keep their scroll
position across a replacement (the feeds and tables are re-rendered every tick). A change of
``sections`` sets only that property (see :meth:`HTMLCard._update_properties`).

Examples
--------
>>> card = HTMLCard(sections=["<b>hello</b>"])
>>> seen = []
>>> card.on("ack", seen.append)
>>> card.action = ["ack", "a1", 1]
>>> seen
['a1']
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import param
from bokeh.document import Document
from panel.reactive import ReactiveHTML
from param.parameterized import no_instance_params

__all__ = ["HTMLCard"]


@no_instance_params
class HTMLCard(ReactiveHTML):
    """Sections of HTML in one model; clicks on ``[data-action]`` elements come back.

    Without instance parameters: Panel reads every parameter object of a component, which makes
    param copy each of them per instance (~7 KiB per card per session); nothing changes a
    card's parameter objects (bounds, precedence...), only their values.
    """

    sections = param.List(default=[], item_type=str, doc="""
        The card's HTML, one string per section; a section is replaced only when it changes.""")
    action = param.List(default=[], doc="""
        The last click on a ``[data-action]`` element: [action, data-arg, nonce] (the nonce
        makes a second click on the same element a change too).""")

    _template = ('<div id="body" onclick="${script(\'click\')}" '
                 'onchange="${script(\'change\')}"></div>')

    _scripts = {
        "render": """
        state.paint = () => {
          const parts = data.sections
          while (body.children.length > parts.length) { body.lastChild.remove() }
          while (body.children.length < parts.length) {
            body.appendChild(document.createElement('div'))
          }
          state.shown.length = Math.min(state.shown.length, parts.length)
          parts.forEach((part, i) => {
            const slot = body.children[i]
            if (state.shown[i] === part) { return }
            const kept = {}
            for (const el of slot.querySelectorAll('[data-scroll]')) {
              kept[el.dataset.scroll] = el.scrollTop
            }
            slot.innerHTML = part
            state.shown[i] = part
            for (const el of slot.querySelectorAll('[data-scroll]')) {
              el.scrollTop = kept[el.dataset.scroll] || 0
            }
          })
        }
        state.shown = []
        state.clicks = 0
        state.paint()
        """,
        "sections": "state.paint()",
        "click": """
        const el = event.target.closest('[data-action]')
        if (el && el.tagName !== 'SELECT') {
          data.action = [el.dataset.action, el.dataset.arg || '', ++state.clicks]
        }
        """,
        "change": """
        const el = event.target.closest('select[data-action]')
        if (el) { data.action = [el.dataset.action, el.value, ++state.clicks] }
        """,
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        self._handlers: dict[str, Callable[[str], None]] = {}
        self.param.watch(self._dispatch, "action")

    def on(self, action: str, handler: Callable[[str], None]) -> None:
        """Call ``handler(data-arg)`` when an element with ``data-action=action`` is clicked."""
        self._handlers[action] = handler

    def _update_properties(self, *events: param.parameterized.Event,
                           doc: Document) -> dict[str, Any]:
        # Panel recomputes the design's parameters (stylesheets, modifiers, a file check) on
        # every change only to merge stylesheets; sections change every tick in every session.
        if any(event.name == "stylesheets" for event in events):
            return super()._update_properties(*events, doc=doc)
        return self._process_param_change({event.name: event.new for event in events})

    def _dispatch(self, event: param.parameterized.Event) -> None:
        if len(event.new) >= 2:
            handler = self._handlers.get(str(event.new[0]))
            if handler is not None:
                handler(str(event.new[1]))
