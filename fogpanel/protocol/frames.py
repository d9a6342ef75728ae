"""WebSocket frame encoding for server-to-client text frames (RFC 6455 §5.2).

Server frames are unmasked, so one encoded frame can be written to every subscriber's socket:
the hub encodes a broadcast once instead of once per connection (Tornado's ``write_message``
re-encodes and creates an asyncio Task per call, which dominated the fan-out cost measured here).

Examples
--------
>>> text_frame(b"hi")
b'\\x81\\x02hi'
>>> text_frame(b"x" * 200)[:4]
b'\\x81~\\x00\\xc8'
"""

from __future__ import annotations

import struct

__all__ = ["text_frame"]

_FIN_TEXT = 0x81


def text_frame(payload: bytes) -> bytes:
    """A complete, unmasked, uncompressed FIN text frame carrying ``payload``."""
    n = len(payload)
    if n < 126:
        return bytes((_FIN_TEXT, n)) + payload
    if n <= 0xFFFF:
        return struct.pack("!BBH", _FIN_TEXT, 126, n) + payload
    return struct.pack("!BBQ", _FIN_TEXT, 127, n) + payload
