"""Releasing Bokeh's empty default containers changes nothing a browser sees."""

from __future__ import annotations

import panel as pn
from bokeh.core.property.wrappers import PropertyValueContainer
from bokeh.document import Document
from bokeh.plotting import figure

from fogpanel.dashboard.compact import release_empty_defaults


def _page() -> Document:
    doc = Document()
    chart = figure(height=120, x_axis_type="datetime")
    chart.line([1, 2], [3, 4])
    pn.Column(pn.pane.HTML("<b>x</b>"), pn.pane.Bokeh(chart)).server_doc(doc)
    return doc


def test_release_keeps_the_document_and_later_mutations():
    """The serialised document is unchanged; a list mutated after the release still sends a
    change (Bokeh makes a fresh default on the next read)."""
    doc = _page()
    before = doc.to_json()
    dropped = release_empty_defaults(doc.models)
    assert dropped > 10 * len(doc.models) // 2
    assert not any(isinstance(value, PropertyValueContainer) and not value
                   for model in doc.models for value in model._unstable_default_values.values())
    assert doc.to_json() == before
    events = []
    doc.on_change(lambda event: events.append(event))
    div = next(m for m in doc.models if type(m).__name__ == "HTML")
    div.css_classes.append("fp-later")
    assert [(e.attr, e.new) for e in events] == [("css_classes", ["fp-later"])]
    assert "fp-later" in str(doc.to_json())
    assert release_empty_defaults(doc.models) < dropped
