"""Text from a URL, a file or a user, made inert for Streamlit's Markdown (plain Python).

Streamlit renders ``st.markdown``, ``st.caption``, ``st.warning`` ... as GitHub-flavoured
Markdown, where more than the usual marks act:

- every line ending (``\\n``, ``\\r``, and the Unicode ones) can start a new block, such as a
  heading underlined with ``===``;
- ``www.``, ``http://`` and ``name@host`` become links by themselves (GFM autolinks), even when
  each ``.`` is backslash-escaped, because they are found in the parsed text;
- ``&lt;`` is an HTML entity that shows as ``<``; ``:red[...]`` and ``$...$`` are directives
  and LaTeX.

``escape_markdown`` turns all of that into literal text: line endings and other control
characters become spaces, every ASCII punctuation mark is backslash-escaped (CommonMark lets
any of them be), and a word joiner (U+2060, invisible) breaks each autolink trigger.
"""

from __future__ import annotations

import re

_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")  # control chars, all line endings
_PUNCT = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation mark
WORD_JOINER = "\u2060"
# What GFM turns into a link by itself: www., a scheme's ://, and the @ of an e-mail address.
_AUTOLINK = re.compile(r"(?i)(www)(\\\.)|(:)(\\/)|(\\@)")


def _break_autolink(m: re.Match) -> str:
    return WORD_JOINER.join(g for g in m.groups() if g is not None) + (
        WORD_JOINER if m.group(5) else "")


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown: one line, no marks, no links, no entities, no HTML."""
    text = _BREAKS.sub(" ", str(text))
    text = _PUNCT.sub(r"\\\1", text)
    return _AUTOLINK.sub(_break_autolink, text)
