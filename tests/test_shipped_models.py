"""The checkpoints in models/ are what scripts/make_models.py makes with today's training code."""

from __future__ import annotations

import importlib.util

import pytest
from numpy.testing import assert_allclose

from rnn import TrainConfig, load_checkpoint
from rnn.train import GRADIENT_OF
from tests.conftest import REPO


def _make_models():
    spec = importlib.util.spec_from_file_location("make_models",
                                                  REPO / "scripts" / "make_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_models = _make_models()


def test_every_shipped_model_has_a_spec_and_every_spec_a_model():
    assert {p.stem for p in (REPO / "models").glob("*.npz")} == set(make_models.SPECS)


@pytest.mark.parametrize("name", list(make_models.SPECS))
def test_a_shipped_model_was_trained_as_its_spec_says(name):
    spec = make_models.SPECS[name]
    _, _, meta = load_checkpoint(REPO / "models" / f"{name}.npz")
    assert TrainConfig.from_dict(meta["config"]) == spec["config"]
    assert set(meta["config"]) == set(TrainConfig.__dataclass_fields__)  # nothing left to default
    assert meta["trainer"]["steps"] == spec["steps"]
    assert meta["trainer"]["gradient_of"] == GRADIENT_OF  # the update the config was tuned for
    assert (meta["corpus"], meta["title"], meta["description"]) == (
        spec["corpus"], spec["title"], spec["description"])


def test_the_english_model_is_what_the_script_trains(tmp_path):
    """Retrained for real (about 6 s): the weights and the validation loss come back, to the last
    bit on the machine that made them. The tolerances leave room for another CPU's float32
    rounding (two BLAS threads instead of one moved no weight by more than 4e-4), not for another
    recipe: a learning rate 3% lower moved weights by 1.6, a clipping bound of T instead of
    5 x T ended 0.04 nats higher."""
    made = make_models.make("english", tmp_path)
    model, vocab, meta = load_checkpoint(made)
    shipped, shipped_vocab, shipped_meta = load_checkpoint(REPO / "models" / "english.npz")
    assert vocab.tokens == shipped_vocab.tokens
    assert model.activation == shipped.activation
    for k, w in shipped.params().items():
        assert_allclose(model.params()[k], w, rtol=0, atol=5e-3, err_msg=k)
    assert meta["val_loss"] == pytest.approx(shipped_meta["val_loss"], abs=1e-3)
