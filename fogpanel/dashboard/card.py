"""What a card looks like: a bordered box with a title line.

``pn.Card`` adds a header row, a title pane and its own model to every session's Document, and
the cards are never collapsed here; the title is a line of HTML inside the card's first
section (:func:`title_html`) and the box is a style (:data:`BOX`); :func:`html_card` is a whole
card as one :class:`~fogpanel.dashboard.htmlcard.HTMLCard`.
"""

from __future__ import annotations

import html
from typing import Any

import panel as pn

from fogpanel.dashboard.htmlcard import HTMLCard

__all__ = ["BOX", "card", "html_card", "title_html"]

BOX = {"border": "1px solid #8885", "border-radius": "6px", "padding": "0 10px 10px 10px",
       "margin": "6px",
       # In the page's wrapping row: two cards side by side on a wide screen, one a line below.
       "flex": "1 1 640px"}
_TITLE = ("font-weight:600;font-size:1.1em;padding:8px 0 6px 0;"
          "border-bottom:1px solid #8884;margin-bottom:4px")


def title_html(title: str) -> str:
    """A card's title line.

    >>> title_html("Tasks & more").endswith('">Tasks &amp; more</div>')
    True
    """
    return f'<div class="fp-card-title" style="{_TITLE}">{html.escape(title)}</div>'


def card(*objects: Any, css_class: str) -> pn.Column:
    """``objects`` in a bordered box with the CSS class ``css_class`` (the first one carries
    the title)."""
    return pn.Column(*objects, sizing_mode="stretch_width", styles=BOX,
                     css_classes=["fp-card", css_class])


def html_card(css_class: str) -> HTMLCard:
    """A card that is one model (its sections carry the title), with the class ``css_class``."""
    return HTMLCard(sizing_mode="stretch_width", styles=BOX, css_classes=["fp-card", css_class])
