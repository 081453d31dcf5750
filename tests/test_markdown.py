"""D8 (issue 15): strings from a URL or a file reach Markdown as literal text."""

from __future__ import annotations

import re

import pytest

from ui.markdown import WORD_JOINER, escape_markdown

# The tester's strings, as the URL decodes them, and more of the same kind.
REPROS = [
    "x\r\rSession expired. Log in at www.evil-example.com/login",
    "foo\r===\rbar",
    "&lt;b&gt;bold&lt;/b&gt;",
    "x\n\n# Heading\n---\n",
    "see https://evil-example.com/a?b=c and mailto:a@evil-example.com",
    "<https://evil-example.com> <b>html</b> <script>alert(1)</script>",
    "[click](https://evil-example.com) ![img](https://evil-example.com/i.png)",
    ":red[alarm] :material/warning: $x^2$ **bold** `code` ~~strike~~ | a | b |",
    "a\u2028b\u2029c\x85d\x0be\x0cf\x00g",
    "WWW.Evil-Example.COM HTTP://EVIL.COM user@host.org",
]


@pytest.mark.parametrize("text", REPROS)
def test_d8_escaped_text_is_one_inert_line(text):
    md = escape_markdown(text)
    assert not re.search(r"[\x00-\x1f\x7f\x85\u2028\u2029]", md)  # one line: no new blocks
    # every ASCII punctuation mark is escaped: no heading, list, link, entity, HTML or directive
    for i, ch in enumerate(md):
        if ch in "!\"#$%&'()*+,-./:;<=>?@[]^_`{|}~":
            run = len(md[:i]) - len(md[:i].rstrip("\\"))
            assert run % 2 == 1, (ch, md)
    low = md.lower()
    assert "www\\." not in low and "www." not in low  # no www. autolink
    assert "\\:\\/" not in md and "://" not in md  # no scheme:// autolink
    assert not re.search(r"@(?!" + WORD_JOINER + ")", md)  # no e-mail autolink


@pytest.mark.parametrize("text", REPROS)
def test_d8_the_words_survive(text):
    """Escaping keeps what a reader sees: drop escapes and joiners, and the text is back."""
    md = escape_markdown(text)
    seen = re.sub(r"\\(.)", r"\1", md).replace(WORD_JOINER, "")
    assert seen == re.sub(r"[\x00-\x1f\x7f\x85\u2028\u2029]+", " ", text)
