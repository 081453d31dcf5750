"""Model keys and view parameters read from a link."""

import pytest

from session.links import (
    LinkError,
    is_shared_key,
    read_choice,
    read_int,
    read_scale,
    shared_digest,
    shared_key,
    trained_key,
    trained_step,
)


def test_model_keys():
    d = "ab" * 32
    assert shared_digest(shared_key(d)) == d and is_shared_key(shared_key(d))
    assert not is_shared_key("sha256-../../etc/passwd") and not is_shared_key("english")
    assert shared_digest("english") is None
    assert trained_step(trained_key(None)) == (True, None)
    assert trained_step(trained_key(300)) == (True, 300)
    for key in ("trained@", "trained@-1", "trained@x", "english", None, "trainedX"):
        assert trained_step(key) == (False, None)


@pytest.mark.parametrize("raw,value", [(None, None), ("0", 0), (" 7 ", 7), ("9", 9)])
def test_read_int(raw, value):
    assert read_int(raw, 0, 9, "step") == value


@pytest.mark.parametrize("raw", ["10", "-1", "1.5", "x", "", "1e3"])
def test_read_int_refuses(raw):
    with pytest.raises(LinkError) as e:
        read_int(raw, 0, 9, "step")
    assert e.value.raw == raw and "0 to 9" in e.value.expected


def test_read_choice_and_scale():
    assert read_choice("3d", {"2d": 2, "3d": 3}, "view") == 3
    assert read_choice(None, {"2d": 2}, "view") is None
    with pytest.raises(LinkError, match="not one of 2d, 3d"):
        read_choice("4d", {"2d": 2, "3d": 3}, "view")
    scales = [0.25, 0.3, 1.0, 1.05]
    assert read_scale("1.05", scales) == 1.05 and read_scale("0.250", scales) == 0.25
    for raw in ("1.06", "nan", "inf", "x"):
        with pytest.raises(LinkError):
            read_scale(raw, scales)
