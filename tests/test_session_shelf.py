"""The model shelf and the per-session cache, driven without Streamlit."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

from rnn import RNN, CheckpointError, ModelMeta, Vocab
from session.cache import Memo, same_key
from session.limits import MAX_CHECKPOINT_BYTES
from session.shelf import ModelEntry, Shelf, builtin_keys, entry_from_upload


def _entry(key: str, H: int = 4) -> ModelEntry:
    vocab = Vocab.build("abcd efg.")
    return ModelEntry(key, key.title(), RNN.create(vocab.size, H, seed=1, init_std=0.5), vocab,
                      ModelMeta(corpus="english"))


def test_the_first_model_is_current_until_another_is_chosen():
    shelf = Shelf({"a": _entry("a"), "b": _entry("b")})
    assert shelf.current_key == "a"
    assert shelf.select("b") and shelf.current.key == "b"
    assert not shelf.select("nope") and shelf.current_key == "b"
    shelf.add(_entry("c"), select=False)
    assert shelf.current_key == "b" and shelf.keys() == ["a", "b", "c"]
    shelf.add(_entry("d"))
    assert shelf.current_key == "d"
    assert Shelf().current is None and Shelf().current_key is None


def test_built_ins_come_first_english_leading():
    shelf = Shelf.with_builtins()
    assert shelf.keys() == builtin_keys() and shelf.keys()[0] == "english"
    assert all(shelf[k].source == "built-in" for k in shelf.keys())


def test_one_scaled_copy_per_model_and_back_to_the_original():
    shelf = Shelf({"a": _entry("a")})
    base = shelf["a"]
    copy = shelf.use_scale(base, 1.5)
    assert shelf.current is copy and copy.key == "a-x1.5" and copy.base_key == "a"
    assert copy.scale == 1.5 and copy.source == "scaled" and copy.meta.corpus == "english"
    assert_allclose(copy.model.W_h, 1.5 * base.model.W_h)
    assert shelf.base_of(copy) is base and shelf.base_of(base) is base
    shelf.use_scale(shelf.base_of(copy), 0.5)
    assert [k for k in shelf.keys() if shelf[k].source == "scaled"] == ["a-x0.5"]
    assert shelf.use_scale(base, 1.0) is base and shelf.current is base
    assert base.scale == 1.0


def test_an_untrained_model_is_shaped_like_the_base():
    shelf = Shelf({"a": _entry("a", H=6)})
    scaled = shelf.use_scale(shelf["a"], 2.0)
    fresh = shelf.add_untrained(scaled)
    assert shelf.current is fresh and fresh.key == "untrained-a" and fresh.source == "untrained"
    assert fresh.model.hidden_size == 6 and fresh.vocab is shelf["a"].vocab
    assert fresh.meta.corpus == "english"


def test_an_oversized_upload_is_refused_before_it_is_read():
    with pytest.raises(CheckpointError, match="20 MB"):
        entry_from_upload("big.npz", b"\0" * (MAX_CHECKPOINT_BYTES + 1))


@pytest.mark.parametrize("a, b, same", [
    ((1, "x"), (1, "x"), True), ((1, "x"), (1, "y"), False), (1, 1.0, False),
    (np.arange(3), np.arange(3), True), (np.arange(3), np.arange(4), False),
    (np.arange(3), [0, 1, 2], False), ((1,), 1, False),
])
def test_cache_keys_compare_by_value(a, b, same):
    assert same_key(a, b) is same


def test_cache_keys_compare_objects_by_identity():
    m = _entry("a").model
    assert same_key((m, np.arange(2)), (m, np.arange(2)))
    assert not same_key(m, m.copy())  # a replaced model, equal or not, is another model


def test_memo_computes_once_per_key_and_keeps_one_result_per_name():
    memo, calls = Memo(), []

    def make(v):
        return lambda: calls.append(v) or v

    assert memo.get("x", (1,), make("a")) == "a"
    assert memo.get("x", (1,), make("b")) == "a"  # kept
    assert memo.get("y", (1,), make("c")) == "c"  # another name, its own slot
    assert memo.get("x", (2,), make("d")) == "d"  # a new key replaces the result
    assert memo.get("x", (1,), make("e")) == "e"
    assert calls == ["a", "c", "d", "e"]


def test_memo_keeps_nothing_when_making_fails():
    memo = Memo()
    with pytest.raises(ValueError):
        memo.get("x", 1, lambda: (_ for _ in ()).throw(ValueError("no")))
    assert memo.get("x", 1, lambda: 5) == 5
