"""Helpers shared by the tests: plotly's arrays as NumPy, and the app started under AppTest.

Tests import them (``from tests.conftest import open_app, plotly_array``), as they import
``tests.reference``.
"""

from __future__ import annotations

import base64
import contextlib
import time
from pathlib import Path

import numpy as np
import pytest
from streamlit import config as st_config
from streamlit.testing.v1 import AppTest

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "app.py")  # absolute: AppTest resolves relative paths against the test file
TIMEOUT_S = 60  # a busy shared machine can take long for a first script run

# AppTest reads .streamlit/config.toml too (from the working directory), which shows viewers only
# an error's type; errors() needs the message and the stack trace of whatever a run raised.
st_config.set_option("client.showErrorDetails", "full")


def plotly_array(v) -> np.ndarray:
    """A plotly JSON array as NumPy: a list (None read as NaN), or a typed array
    ``{"dtype", "bdata", "shape"}``, the base64 form plotly writes for NumPy arrays."""
    if isinstance(v, dict) and "bdata" in v:
        arr = np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
        shape = v.get("shape")
        return arr.reshape([int(n) for n in str(shape).split(",")]) if shape else arr
    return np.array(_nan_for_none(v))


def _nan_for_none(v):
    if isinstance(v, (list, tuple)):
        return [_nan_for_none(x) for x in v]
    return np.nan if v is None else v


def errors(at: AppTest) -> str:
    """The exceptions an AppTest run showed, with their stack traces, for an assert message."""
    return "\n\n".join(f"{e.message}\n{''.join(e.stack_trace)}" for e in at.exception)


def open_app(page: str | None = None, query: dict | None = None,
             timeout: float = TIMEOUT_S) -> AppTest:
    """The app after its first script run (with ``query`` as the URL's parameters), switched
    to ``page`` (e.g. ``"pages/train.py"``) if given; fails on any exception shown."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, errors(at)
    if page is not None:
        at.switch_page(page).run()
        assert not at.exception, errors(at)
    return at


@contextlib.contextmanager
def _own_server(store_dir: Path, **env: str):
    """A run registry and a shared-model store of their own: the server keeps them process-wide
    (``session.server``), and runs of earlier tests would count against its bounds."""
    from session import server

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("RNN_STORE_DIR", str(store_dir))
        for name, value in env.items():
            mp.setenv(name, value)
        server.reset()
        try:
            yield
        finally:
            server.reset()


@pytest.fixture(autouse=True, scope="module")
def _server_per_module(request, tmp_path_factory):
    """For modules marked ``module_server``, whose apps (and runs) live across tests. Each app
    that opens Train live makes a run, so this registry keeps more than a server's 16."""
    if request.node.get_closest_marker("module_server") is None:
        yield
        return
    with _own_server(tmp_path_factory.mktemp("shared-models"), RNN_MAX_RUNS="1000",
                     RNN_RUNS_MAX_MB="4096"):
        yield


@pytest.fixture(autouse=True)
def _server_per_test(request, tmp_path):
    """Every other test gets its own registry and store."""
    if request.node.get_closest_marker("module_server") is not None:
        yield
        return
    with _own_server(tmp_path / "shared-models"):
        yield


def until(cond, what: str, timeout_s: float = 30.0) -> None:
    """Wait for ``cond()`` (a trainer or trimmer thread works between script runs)."""
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout_s, f"timed out waiting for {what}"
        time.sleep(0.005)


def set_widget(at: AppTest, key: str, value) -> None:
    """Set the widget with this key (whatever its kind) and rerun; the run must not fail."""
    for kind in ("number_input", "select_slider", "selectbox", "radio", "text_area", "slider"):
        found = [w for w in getattr(at, kind) if w.key == key]
        if found:
            found[0].set_value(value)
            at.run()
            assert not at.exception, errors(at)
            return
    raise KeyError(key)
