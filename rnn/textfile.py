"""Reading a text file a user gives (the CLI's corpus, the app's upload): bytes in, text out."""

from __future__ import annotations

from .errors import RNNError


def text_from_bytes(data: bytes, max_bytes: int, name: str = "The file") -> str:
    """The UTF-8 text of ``data``; RNNError with a plain message for oversized, binary or
    non-UTF-8 data. Sizes are stated in MB of 10^6 bytes, as Streamlit's uploader states them.
    ``name`` starts the messages ("The file", "'notes.txt'")."""
    if len(data) > max_bytes:
        raise RNNError(f"{name} is {len(data):,} bytes; the limit is {max_bytes / 10**6:g} MB "
                       f"({max_bytes:,} bytes). Use a shorter excerpt.")
    if b"\x00" in data:
        raise RNNError(f"{name} looks like a binary file (it contains NUL bytes), not plain text. "
                       "Use a .txt file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RNNError(f"{name} is not UTF-8 text ({e.reason} at byte {e.start}). Save it as "
                       "UTF-8 and try again.") from e
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the text
