"""Vocabulary: char and word level, round trips, <unk> handling and validation."""

from __future__ import annotations

import numpy as np
import pytest

from rnn import UNK, Encoded, RNNError, Vocab, display_token
from rnn.vocab import UNK_GLYPH, tokenize

TEXTS = ["hello world", "The cat sat.\nOn the mat!  Twice?", "ab\tc  d\n\n-- (x, y) 42",
         "é ü ☃ 日本"]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("level", ["char", "word"])
def test_round_trip(text, level):
    v = Vocab.build(text, level)
    ids = v.encode(text)
    assert ids.dtype == np.int64 and ids.ndim == 1
    assert v.decode(ids) == text
    assert (ids > 0).all()  # every token of the corpus itself is known
    assert len(ids) == len(tokenize(text, level))


def test_char_vocab_layout():
    v = Vocab.build("banana")
    assert v.tokens == (UNK, "a", "b", "n")
    assert v.level == "char" and v.size == len(v) == 4
    np.testing.assert_array_equal(v.encode("nab"), [3, 1, 2])
    assert v.token(0) == UNK_GLYPH and v.token(2) == "b"


def test_word_tokens_cover_all_text():
    text = "Hello, world!  It's 3 o'clock.\n"
    toks = tokenize(text, "word")
    assert "".join(toks) == text
    assert toks[:4] == ["Hello", ",", " ", "world"]
    assert "  " in toks  # runs of white space are one token


def test_word_vocab():
    v = Vocab.build("the cat and the hat", "word")
    assert set(v.tokens) == {UNK, "the", "cat", "and", "hat", " "}
    ids = v.encode("the dog")
    assert ids[0] == v.index["the"] and ids[2] == 0
    assert v.decode(ids) == "the " + UNK
    assert v.token(0) == UNK


def test_build_is_deterministic_and_sorted():
    a = Vocab.build("zyx abc zzz")
    b = Vocab.build("cba xyz")
    assert a == b
    assert list(a.tokens[1:]) == sorted(a.tokens[1:])


def test_max_size_keeps_most_frequent():
    v = Vocab.build("aaaabbbccd", max_size=3)
    assert v.tokens == (UNK, "a", "b")
    np.testing.assert_array_equal(v.encode("abd"), [1, 2, 0])


@pytest.mark.parametrize("level", ["char", "word"])
def test_unknown_tokens_reported_not_dropped(level):
    v = Vocab.build("abc abc", level)
    text = "abc xyz ab!" if level == "word" else "abxcq!a"
    enc = v.encode_report(text)
    assert isinstance(enc, Encoded)
    toks = tokenize(text, level)
    assert enc.tokens == toks
    assert len(enc.ids) == len(toks)  # nothing dropped
    want = [(i, t) for i, t in enumerate(toks) if t not in v.index]
    assert want and enc.unknown == want
    for i, _ in enc.unknown:
        assert enc.ids[i] == 0
    assert (np.delete(enc.ids, [i for i, _ in want]) > 0).all()
    assert enc.unknown_tokens == list(dict.fromkeys(t for _, t in want))


def test_char_unknown_positions_exact():
    v = Vocab.build("ab")
    enc = v.encode_report("aXbXYa")
    assert enc.unknown == [(1, "X"), (3, "X"), (4, "Y")]
    assert enc.unknown_tokens == ["X", "Y"]
    np.testing.assert_array_equal(enc.ids, [1, 0, 2, 0, 0, 1])
    assert v.decode(enc.ids) == f"a{UNK_GLYPH}b{UNK_GLYPH}{UNK_GLYPH}a"


def test_empty_text_encodes_to_nothing():
    v = Vocab.build("ab")
    enc = v.encode_report("")
    assert enc.ids.shape == (0,) and enc.tokens == [] and enc.unknown == []
    assert v.decode([]) == ""


@pytest.mark.parametrize("tokens,level", [
    ((), "char"),
    (("a", UNK), "char"),
    ((UNK, "a", "a"), "char"),
    ((UNK, "ab"), "char"),
    ((UNK, ""), "word"),
    ((UNK, 3), "word"),
    ((UNK, "a"), "byte"),
])
def test_vocab_validation(tokens, level):
    with pytest.raises(RNNError):
        Vocab(tokens, level)


def test_build_rejects_empty_and_bad_level():
    with pytest.raises(RNNError):
        Vocab.build("")
    with pytest.raises(RNNError):
        Vocab.build("abc", "sentence")
    with pytest.raises(RNNError):
        tokenize("abc", "bpe")


def test_vocab_is_an_error_subclass_of_valueerror():
    assert issubclass(RNNError, ValueError)


@pytest.mark.parametrize("tok, shown", [(" ", "␣"), ("\n", "↵"), ("\t", "⇥"), ("  \n", "␣␣↵"),
                                        ("a\nb c", "a↵b c"), ("word", "word"), ("<", "<")])
def test_display_token_has_one_glyph_per_white_space(tok, shown):
    assert display_token(tok) == shown


def test_unit_name_follows_the_level():
    assert Vocab.build("ab").unit_name == "character"
    assert Vocab.build("a b", "word").unit_name == "word"


def test_display_token_cuts_long_words():
    assert display_token("extraordinarily", 8) == "extraor…"
    assert display_token("cat", 8) == "cat" and display_token("abc", 1) == "a…"
    assert display_token("  \n", 2) == "␣…"
