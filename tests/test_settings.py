"""Server settings from environment variables."""

from pathlib import Path

import pytest

from rnn import RNNError
from session.settings import Settings, from_env


def test_defaults_without_variables():
    assert from_env({}) == Settings()


def test_every_variable_is_read():
    s = from_env({"RNN_STORE_DIR": "/srv/models", "RNN_STORE_MAX_MB": "50",
                  "RNN_STORE_DAYS": "7", "RNN_MAX_RUNS": "4", "RNN_MAX_TRAINING": "1",
                  "RNN_RUNS_MAX_MB": "100", "RNN_RUN_IDLE_MIN": "5", "RNN_RUN_LEAVE_MIN": "2",
                  "RNN_TRIM_EVERY_S": "0"})
    assert s == Settings(Path("/srv/models"), 50.0, 7.0, 4, 1, 100.0, 5.0, 2.0, 0.0)


@pytest.mark.parametrize("name,value,message", [
    ("RNN_MAX_RUNS", "many", "not a number"),
    ("RNN_MAX_RUNS", "2.5", "not a number"),
    ("RNN_MAX_TRAINING", "0", "at least 1"),
    ("RNN_STORE_MAX_MB", "nan", "at least 1"),
    ("RNN_STORE_DAYS", "-1", "at least 0"),
])
def test_a_bad_value_names_the_variable(name, value, message):
    with pytest.raises(RNNError, match=f"{name}.*{message}"):
        from_env({name: value})
