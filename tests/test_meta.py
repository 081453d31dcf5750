"""ModelMeta: a model's metadata read from checkpoint JSON, with every field's type checked."""

from __future__ import annotations

import io

import numpy as np
import pytest

from rnn import (
    RNN,
    CheckpointError,
    ModelMeta,
    TrainConfig,
    Vocab,
    load_checkpoint,
    save_checkpoint,
)
from session.shelf import entry_from_upload


def test_full_metadata_is_read_with_its_types():
    doc = {"title": "T", "description": "D", "corpus": "english", "snapshot_step": 7,
           "config": {"hidden_size": 8, "lr": 0.01, "clip": None, "optimizer": "adam"},
           "history": {"step": [1, 2], "loss": [3.0, 2.5], "val_step": [2], "val_loss": [2.4]}}
    meta = ModelMeta.from_dict(doc)
    assert (meta.title, meta.description, meta.corpus, meta.snapshot_step) == ("T", "D",
                                                                              "english", 7)
    assert meta.config == TrainConfig(hidden_size=8, lr=0.01, clip=None, optimizer="adam")
    assert meta.history.loss == [3.0, 2.5] and meta.val_loss == 2.4  # from the history


def test_missing_fields_are_empty_and_unknown_keys_ignored():
    meta = ModelMeta.from_dict({"trainer": {"steps": 3}, "scale": 2})
    assert meta == ModelMeta()
    assert ModelMeta.from_dict({"val_loss": 1.5, "history": {"val_loss": [9.0]}}).val_loss == 1.5


@pytest.mark.parametrize("doc", [
    {"title": 3}, {"description": ["x"]}, {"corpus": {"name": "english"}},
    {"snapshot_step": "7"}, {"snapshot_step": 7.5}, {"val_loss": "low"}, {"val_loss": True},
    {"config": "adam"}, {"config": {"hidden_size": "64"}}, {"config": {"hidden_size": 64.0}},
    {"config": {"lr": None}}, {"config": {"clip": "off"}}, {"history": [1, 2]},
    {"history": {"loss": "1,2"}}, {"history": {"loss": [1.0, None]}},
])
def test_malformed_metadata_is_a_checkpoint_error(doc):
    with pytest.raises(CheckpointError, match="checkpoint"):
        ModelMeta.from_dict(doc)


def test_an_upload_with_malformed_metadata_gets_a_plain_error():
    vocab = Vocab.build("abc")
    buf = io.BytesIO()
    save_checkpoint(buf, RNN.create(vocab.size, 4), vocab, title=["not", "text"])
    with pytest.raises(CheckpointError, match="'title'"):  # the loader checks it (issue 15, D9)
        load_checkpoint(buf.getvalue())
    with pytest.raises(CheckpointError, match="'title'"):
        entry_from_upload("m.npz", buf.getvalue())


def test_a_built_in_model_names_its_corpus():
    from session.shelf import load_builtin

    entry = load_builtin("english")
    assert entry.meta.corpus == "english" and entry.label == entry.meta.title
    assert entry.meta.val_loss == pytest.approx(1.879, abs=5e-4)  # README: the shipped models
    assert np.isfinite(entry.meta.val_loss)
