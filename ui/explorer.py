"""State of the explorer page: the forward pass of (model, text), the URL, the playback clock.

The forward pass of a (model, text) pair is computed once per session (``state.cached``), so
moving the step or choosing a neuron never reruns the model. Every number the page shows is
read from that ``Trace``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import streamlit as st

from figures.explorer import signed_zmax
from rnn import RNN, Encoded, Trace, Vocab
from rnn.vocab import tokenize
from session.shelf import ModelEntry

from . import state
from .widgets import DEFAULT_TEXT, MAX_CHARS, escape_markdown

URL_KEYS = ("text", "step", "model", "neuron")  # the query parameters that reproduce a view
SPEEDS = {"slow": 1.0, "medium": 2.5, "fast": 5.0}  # tokens per second while playing


@dataclass
class ForwardPass:
    """One forward pass of a model over a text, with what the page reads from it."""

    model_key: str
    model: RNN  # kept to notice a replaced model under the same key (e.g. "trained")
    vocab: Vocab
    text: str
    encoded: Encoded  # ids (T,), tokens and the unknown ones
    trace: Trace  # every intermediate, (T, H) and (T, V)
    zmax: float  # colour range of the terms of a_t over the whole text, the same at every step

    @property
    def T(self) -> int:
        return len(self.encoded.ids)

    @property
    def tokens(self) -> list[str]:
        return self.encoded.tokens

    def step_arrays(self, t: int) -> dict[str, np.ndarray]:
        """The H-vectors of step t: W_i x_t, W_h h_{t-1}, b_h, a_t, h_t (all from the Trace)."""
        tr = self.trace
        return {"Wi_x": tr.Wi_x[t], "Wh_h": tr.Wh_h[t], "b_h": self.model.b_h, "a": tr.a[t],
                "h": tr.h[t]}

    def next_id(self, t: int) -> int | None:
        """Id of the token that follows step t in the text (None at the last step)."""
        return int(self.encoded.ids[t + 1]) if t + 1 < self.T else None

    def next_prob(self, t: int) -> float | None:
        """p_t of the token that really comes next."""
        nxt = self.next_id(t)
        return None if nxt is None else float(self.trace.probs[t, nxt])

    def step_losses(self) -> np.ndarray:
        """-ln p_t[next] at every step but the last, nats (T-1,)."""
        return self.trace.step_loss(self.encoded.ids[1:])

    def next_loss(self, t: int) -> float | None:
        """-ln p_t[next], the cross-entropy this step costs (nats)."""
        return None if t + 1 >= self.T else float(self.step_losses()[t])

    def mean_loss(self) -> float | None:
        """Mean -ln p_t[next] over the text: what the validation loss measures, on this text."""
        return None if self.T < 2 else float(np.mean(self.step_losses()))


def forward_pass(entry: ModelEntry, text: str) -> ForwardPass:
    """The forward pass of ``entry`` over ``text``, computed once per (model, text) per session."""

    def make() -> ForwardPass:
        encoded = entry.vocab.encode_report(text)
        trace = entry.model.forward(encoded.ids)
        zmax = signed_zmax(trace.Wi_x, trace.Wh_h, trace.a, entry.model.b_h, q=99)
        return ForwardPass(entry.key, entry.model, entry.vocab, text, encoded, trace, zmax)

    return state.cached("explorer_pass", (entry.key, entry.model, entry.vocab, text), make)


def neuron_equation(fwd: ForwardPass, t: int, j: int) -> str:
    """LaTeX of h_t[j] = tanh((W_i x_t)[j] + (W_h h_{t-1})[j] + b_h[j]) with the Trace's numbers."""
    s = fwd.step_arrays(t)
    terms = [s["Wi_x"][j], s["Wh_h"][j], s["b_h"][j]]
    nums = " ".join(f"{v:.4f}" if i == 0 else f"{'-' if v < 0 else '+'} {abs(v):.4f}"
                    for i, v in enumerate(terms))
    return (
        r"\begin{aligned}"
        rf"h_{{{t}}}[{j}] &= \tanh\big( (W_i x_{{{t}}})[{j}] + (W_h h_{{{t - 1}}})[{j}]"
        rf" + b_h[{j}] \big) \\ &= \tanh({nums}) \\ &= \tanh({s['a'][j]:.4f})"
        rf" = {s['h'][j]:.4f}\end{{aligned}}"
    )


def _int_param(raw: str | None) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def read_url_once(text_key: str, step_key: str, neuron_key: str) -> list[str]:
    """On the page's first run in this session, take the view from the URL's query parameters.

    Sets the current model and the widget values (``text_key``, ``step_key``, ``neuron_key``
    in session state); a parameter that makes no sense is replaced by the default and
    explained in one of the returned notices (markdown, user text escaped).
    """
    shelf = state.shelf()
    if not len(shelf) or not state.once(state.EXPLORER_URL_READ):
        return []  # with no model at all yet, the link waits until one is uploaded or trained
    qp = {k: st.query_params.get(k) for k in URL_KEYS}
    notices = []
    if qp["model"] is not None:
        if not shelf.select(qp["model"]):
            shown = escape_markdown(shelf.current.label)
            notices.append(f"The link asks for a model named “{escape_markdown(qp['model'])}”, "
                           f"which is not here; showing “{shown}”.")
    if qp["text"] is not None:
        state.preset(text_key, qp["text"])
    elif state.widget(text_key) is None:
        state.preset(text_key, DEFAULT_TEXT)
    entry = shelf.current
    text = str(state.widget(text_key, ""))[:MAX_CHARS]
    T = len(tokenize(text, entry.vocab.level))
    if qp["step"] is not None:
        step = _int_param(qp["step"])
        if step is None or not 0 <= step < max(T, 1):
            notices.append(f"The link's step “{escape_markdown(qp['step'])}” is not a step of "
                           f"this text (0 to {max(T - 1, 0)}); starting at step 0.")
            step = 0
        state.preset(step_key, step)
    if qp["neuron"] is not None:
        H = entry.model.hidden_size
        neuron = _int_param(qp["neuron"])
        if neuron is None or not 0 <= neuron < H:
            notices.append(f"The link's neuron “{escape_markdown(qp['neuron'])}” does not exist "
                           f"(this model has neurons 0 to {H - 1}); showing neuron 0.")
            neuron = 0
        state.preset(neuron_key, neuron)
    state.set_value(state.EXPLORER_LAST_VIEW, (entry.key, text))  # no step reset on arrival
    return notices


def write_url(**values) -> None:
    """Keep the address bar in step with what is on screen (only changed keys are sent)."""
    for k, v in values.items():
        s = str(v)
        if st.query_params.get(k) != s:
            st.query_params[k] = s


# -- playback ---------------------------------------------------------------------------------

def play_interval() -> float | None:
    """Seconds between automatic steps while playing, None when paused."""
    if not state.value(state.EXPLORER_PLAYING):
        return None
    return 1.0 / SPEEDS.get(state.widget("explorer_speed", "medium"), 2.5)


def set_playing(playing: bool, step_key: str, T: int) -> None:
    """Button callback of Play (True: from the current step, from 0 at the end) and Pause.

    Play and Pause are two buttons with their own keys, never one toggle: a click that reaches
    the server twice (runs queue up while playing) cannot undo itself.
    """
    state.set_value(state.EXPLORER_PLAYING, playing)
    if playing:
        if state.widget(step_key, 0) >= T - 1:
            state.preset(step_key, 0)
        state.set_value(state.EXPLORER_NEXT_TICK, time.monotonic() + (play_interval() or 0.0))


def tick(step_key: str, T: int) -> bool:
    """Advance the step by one if playing and its time has come; False when playback ends."""
    if not state.value(state.EXPLORER_PLAYING):
        return True
    interval = play_interval() or 0.0
    now = time.monotonic()
    if now >= state.value(state.EXPLORER_NEXT_TICK, 0.0) - 0.05 * interval:
        state.preset(step_key, min(state.widget(step_key, 0) + 1, T - 1))
        state.set_value(state.EXPLORER_NEXT_TICK, now + interval)
    if state.widget(step_key) >= T - 1:
        state.set_value(state.EXPLORER_PLAYING, False)
        return False
    return True


def move_step(step_key: str, T: int, to: str) -> None:
    """Button callback: first / prev / next / last."""
    t = int(state.widget(step_key, 0))
    state.preset(step_key, {"first": 0, "prev": t - 1, "next": t + 1, "last": T - 1}[to])
    state.clamp_step(step_key, T)
