"""The shared-model store: round trip, and what it refuses (traversal, swapped files, cap, age)."""

from __future__ import annotations

import os

import numpy as np
import pytest

from rnn import RNN, RNNError, Vocab, checkpoint_bytes
from session.settings import Settings
from session.store import MAX_ENTRY_BYTES, ModelStore, StoreError, digest_of

DAY = 86400.0


def _checkpoint(seed: int = 0, H: int = 8) -> bytes:
    vocab = Vocab.build("abcdefgh ")
    return checkpoint_bytes(RNN.create(vocab.size, hidden_size=H, seed=seed), vocab,
                            title=f"model {seed}")


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "shared", max_bytes=2**20, max_age_s=30 * DAY)


def test_round_trip_opens_the_same_weights(store):
    data = _checkpoint(seed=3)
    digest = store.put(data, now=1000.0)
    assert digest == digest_of(data) and len(digest) == 64
    assert (store.folder / f"{digest}.npz").read_bytes() == data
    model, vocab, meta = store.load(digest, now=2000.0)
    original = RNN.create(vocab.size, hidden_size=8, seed=3)
    np.testing.assert_array_equal(model.W_h, original.W_h)
    assert meta["title"] == "model 3"
    assert not [p for p in store.folder.iterdir() if p.name.startswith(".")]  # no temp left


def test_sharing_again_keeps_one_file_and_renews_it(store):
    data = _checkpoint()
    a = store.put(data, now=0.0)
    b = store.put(data, now=20 * DAY)
    assert a == b and len(store.entries()) == 1
    store.get(a, now=45 * DAY)  # 25 days after the second share: still there


@pytest.mark.parametrize("digest", [
    "../" * 8 + "etc/passwd",
    "../shared/" + "a" * 64,
    "a" * 63 + "/",
    "A" * 64,  # upper case is not what put writes
    "a" * 65,
    "a" * 64 + "\x00",
    "a" * 64 + "\n",
    "",
    "..",
])
def test_a_digest_that_is_not_64_hex_digits_is_refused_before_any_file_is_touched(
        store, tmp_path, digest):
    secret = tmp_path / "secret.npz"
    secret.write_bytes(_checkpoint())
    with pytest.raises(StoreError, match="does not name a shared model"):
        store.load(digest)


def test_a_path_outside_the_folder_is_never_reached_through_a_symlink(store, tmp_path):
    data = _checkpoint()
    outside = tmp_path / "outside.npz"
    outside.write_bytes(data)
    store.folder.mkdir(parents=True)
    (store.folder / f"{digest_of(data)}.npz").symlink_to(outside)
    with pytest.raises(StoreError, match="no shared model"):
        store.load(digest_of(data))


def test_a_file_swapped_on_disk_is_refused(store):
    digest = store.put(_checkpoint(seed=0))
    (store.folder / f"{digest}.npz").write_bytes(_checkpoint(seed=1))  # a valid checkpoint
    with pytest.raises(StoreError, match="does not match the link"):
        store.load(digest)


def test_a_truncated_file_is_refused(store):
    digest = store.put(_checkpoint())
    path = store.folder / f"{digest}.npz"
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(StoreError, match="does not match"):
        store.load(digest)


def test_a_missing_entry_gets_a_plain_message(store):
    with pytest.raises(StoreError, match="no shared model for this link"):
        store.load("0" * 64)


def test_a_store_over_its_cap_refuses_new_models_and_keeps_the_old(tmp_path):
    first = _checkpoint(seed=0)
    store = ModelStore(tmp_path / "s", max_bytes=len(first) + 100, max_age_s=DAY)
    kept = store.put(first, now=0.0)
    with pytest.raises(StoreError, match="full"):
        store.put(_checkpoint(seed=1), now=10.0)
    assert [e.name for e in store.entries()] == [f"{kept}.npz"]
    store.load(kept, now=20.0)
    # once the old one expired, there is room again
    store.put(_checkpoint(seed=1), now=2 * DAY)
    assert len(store.entries()) == 1


def test_an_oversized_model_is_not_stored(store):
    with pytest.raises(StoreError, match="over 20 MB"):
        store.put(b"\0" * (MAX_ENTRY_BYTES + 1))


def test_only_checkpoints_are_stored(store):
    with pytest.raises(RNNError):
        store.put(b"not a checkpoint at all")
    assert store.entries() == []


def test_an_expired_entry_is_refused_and_deleted(store):
    digest = store.put(_checkpoint(), now=0.0)
    store.get(digest, now=29 * DAY)
    with pytest.raises(StoreError, match="expired"):
        store.get(digest, now=31 * DAY)
    assert not (store.folder / f"{digest}.npz").exists()


def test_sweep_removes_expired_entries_and_abandoned_temporary_files(store):
    old = store.put(_checkpoint(seed=0), now=0.0)
    new = store.put(_checkpoint(seed=1), now=25 * DAY)
    tmp = store.folder / ".incoming-abc"
    tmp.write_bytes(b"half")
    os.utime(tmp, (0, 0))
    assert store.sweep(now=31 * DAY) == 1
    assert [e.name for e in store.entries()] == [f"{new}.npz"]
    assert not tmp.exists() and old != new


def test_two_stores_on_one_folder_see_each_others_models(tmp_path):
    a = ModelStore(tmp_path / "one", 2**20, DAY)
    b = ModelStore(tmp_path / "one", 2**20, DAY)
    digest = a.put(_checkpoint())
    assert b.get(digest) == a.get(digest)


def test_from_settings(tmp_path):
    s = ModelStore.from_settings(Settings(store_dir=tmp_path, store_max_mb=2, store_days=1.5))
    assert (s.folder, s.max_bytes, s.max_age_s) == (tmp_path, 2 * 2**20, 1.5 * DAY)


def test_model_meta_survives_the_round_trip_through_a_shared_checkpoint(store):
    from rnn import History, ModelMeta, TrainConfig, load_checkpoint

    meta = ModelMeta("Trained on english", "step 300", "english", TrainConfig(hidden_size=8),
                     History(step=[1, 2], loss=[3.0, 2.5], grad_norm=[1.0, 1.0],
                             seconds=[0.1, 0.2], val_step=[0], val_loss=[4.2]), 4.2, 300)
    vocab = Vocab.build("abcdefgh ")
    data = checkpoint_bytes(RNN.create(vocab.size, hidden_size=8, seed=0), vocab,
                            **meta.to_dict())
    _, _, doc = load_checkpoint(store.get(store.put(data)))
    assert ModelMeta.from_dict(doc) == meta
