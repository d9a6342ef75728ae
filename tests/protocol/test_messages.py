"""Parsing: one good and one bad payload per inbound message type."""

from __future__ import annotations

import pytest

from fogpanel.errors import BadJson, BadMessage, UnknownType
from fogpanel.protocol.messages import Auth, Ping, Pong, Subscribe, Unsubscribe, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"type":"auth","token":"t"}', Auth("t")),
        ('{"type":"subscribe","rooms":["a","a","b"]}', Subscribe(("a", "b"))),
        ('{"type":"subscribe","rooms":["a"],"since":{"a":0},"epoch":"e"}',
         Subscribe(("a",), {"a": 0}, "e")),
        ('{"type":"unsubscribe","rooms":["a"]}', Unsubscribe(("a",))),
        ('{"type":"ping"}', Ping()),
        ('{"type":"pong","extra":1}', Pong()),
    ],
)
def test_good(text, expected):
    """Valid frames parse to their message."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ('{"type":"auth","token":5}', BadMessage),
        ('{"type":"subscribe","rooms":[]}', BadMessage),
        ('{"type":"subscribe","rooms":["a"],"since":{"a":-1}}', BadMessage),
        ('{"type":"subscribe","rooms":["a"],"since":{"a":true}}', BadMessage),
        ('{"type":"subscribe","rooms":["a"],"epoch":3}', BadMessage),
        ('{"type":"unsubscribe","rooms":"a"}', BadMessage),
        ('{"type":"PING"}', UnknownType),
        ('{"type":null}', UnknownType),
        ("[" * 100_000, BadJson),
        ("null", BadJson),
        ("", BadJson),
    ],
)
def test_bad(text, error):
    """Invalid frames raise the matching ProtocolError."""
    with pytest.raises(error):
        parse(text)
