"""ModelMeta: a model's metadata read from checkpoint JSON, with every field's type checked."""

from __future__ import annotations

import pytest

from rnn import CheckpointError, ModelMeta, TrainConfig


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
