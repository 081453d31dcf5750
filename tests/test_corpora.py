"""Built-in corpora: each loads, is non-empty and is what its description says."""

from __future__ import annotations

import pytest

from rnn import CORPORA, RNNError, Vocab, load_corpus


@pytest.mark.parametrize("name", list(CORPORA))
def test_every_corpus_loads(name):
    text = load_corpus(name)
    assert isinstance(text, str) and len(text) > 1000
    assert load_corpus(name) == text  # stable
    assert Vocab.build(text).size >= 3
    c = CORPORA[name]
    assert c.name == name and c.title and c.description


def test_expected_corpora_present():
    assert {"english", "brackets", "counting", "period", "hello"} <= set(CORPORA)


def test_english_is_ascii_and_tens_of_kb():
    text = load_corpus("english")
    assert text.isascii()
    assert 20_000 <= len(text.encode("utf-8")) <= 100_000
    assert len(text.split()) > 3000  # prose, not noise


def test_hello_and_period_are_periodic():
    assert load_corpus("hello") == "hello world. " * (len(load_corpus("hello")) // 13)
    p = load_corpus("period")
    assert p == p[:37] * (len(p) // 37)


def test_counting_counts():
    nums = load_corpus("counting").split()
    assert nums[:4] == ["0", "1", "2", "3"]
    assert [int(n) for n in nums] == list(range(len(nums)))


def test_brackets_are_balanced():
    pairs = {")": "(", "]": "[", "}": "{"}
    for line in load_corpus("brackets").splitlines():
        stack = []
        for ch in line:
            if ch in "([{":
                stack.append(ch)
            elif ch in pairs:
                assert stack and stack.pop() == pairs[ch], line
        assert not stack, line


def test_unknown_corpus():
    with pytest.raises(RNNError, match="english"):
        load_corpus("shakespeare")
