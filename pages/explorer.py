"""Explorer: watch the network read a text one token at a time, every number on screen.

The forward pass runs once per (model, text) (``ui.explorer.forward_pass``); stepping, playing
and choosing a neuron only read that Trace and redraw. The view lives in the URL
(?text=&step=&model=&neuron=) so a copied address shows the same thing.
"""

import streamlit as st

from figures.explorer import (
    hidden_over_time_figure,
    prediction_figure,
    step_figure,
    text_strip_figure,
)
from figures.weights import weight_figure
from ui import state
from ui.explorer import (
    SPEEDS,
    forward_pass,
    move_step,
    neuron_equation,
    play_interval,
    read_url_once,
    set_playing,
    tick,
    write_url,
)
from ui.nav import require_app
from ui.widgets import escape_markdown, model_picker_ui, model_summary, quote_token, text_input_ui

TEXT, STEP, NEURON = "text", "step", "neuron"  # widget keys, also the URL's parameter names
NO_BAR = {"displayModeBar": False}

require_app()  # a page opened by a direct link on a fresh server runs via app.py

st.title("Explorer")
st.caption("Type a sentence and step through it: at every token the network adds what it reads "
           "to what it remembers, squashes the sum with tanh, and guesses the next token.")

url_notices = read_url_once(TEXT, STEP, NEURON)  # before the widgets it presets
entry = model_picker_ui()
for notice in url_notices:
    st.warning(notice, icon=":material/link_off:")
st.markdown(model_summary(entry))
if entry.description:
    st.caption(escape_markdown(entry.description))

choice = text_input_ui(TEXT)
if choice.empty:
    write_url(model=entry.key, text="")
    st.stop()

fwd = forward_pass(entry, choice.text)
T, H = fwd.T, entry.model.hidden_size
if fwd.encoded.unknown:
    where = len(fwd.encoded.unknown)
    shown = ", ".join(quote_token(tok) for tok in fwd.encoded.unknown_tokens[:12])
    hint = ""
    if where > T / 2:  # e.g. English text for the brackets model
        known = " ".join(quote_token(tok) for tok in entry.vocab.tokens[1:41])
        hint = f" Most of this text is new to the model; it knows these tokens: {known}"
    st.warning(
        f"This model never saw {shown} while training ({where} place{'s' * (where > 1)} in "
        "your text, outlined in red below). It reads each of them as the unknown token "
        f"`<unk>` (id 0), so its guesses around them are poor.{hint}", icon=":material/help:")

# A new text (or model) starts at step 0; values from the URL or another page are clamped.
view = (entry.key, choice.text)
last_view = state.value(state.EXPLORER_LAST_VIEW)
if last_view != view:
    if (last_view or (None, None))[1] != choice.text:
        state.preset(STEP, 0)
        state.set_value(state.EXPLORER_PLAYING, False)
    state.set_value(state.EXPLORER_LAST_VIEW, view)
state.clamp_step(STEP, T)
state.clamp_step(NEURON, H)
if state.widget("explorer_speed") is None:
    state.preset("explorer_speed", "medium")

tick(STEP, T)  # while playing, a full rerun moves on too
interval = play_interval()
state.set_value(state.EXPLORER_REGISTERED, interval)


def _take_click(chart_key: str, seen_key: str, widget_key: str, value) -> None:
    """A new click in a chart sets a widget (step or neuron); an old selection is ignored."""
    chart = state.widget(chart_key)
    points = chart.selection.points if chart else []
    sig = tuple(sorted(value(p) for p in points)) or None
    if state.is_new(seen_key, sig) and sig:
        state.preset(widget_key, int(sig[0]))


def step_view() -> None:
    """Everything that changes with the step; reruns alone (and on a timer while playing)."""
    if not tick(STEP, T) or play_interval() != state.value(state.EXPLORER_REGISTERED):
        st.rerun()  # play/pause/speed changed or the end was reached: re-arm the timer
    _take_click("explorer_strip", "explorer_strip_seen", STEP, lambda p: p["point_index"])
    _take_click("explorer_grid", "explorer_grid_seen", NEURON, lambda p: p["customdata"])

    left, right = st.columns([3, 2], vertical_alignment="bottom")
    with left, st.container(horizontal=True, vertical_alignment="bottom"):
        st.button("", icon=":material/first_page:", key="first", help="First step",
                  on_click=move_step, args=(STEP, T, "first"))
        st.button("", icon=":material/chevron_left:", key="prev", help="Previous step",
                  on_click=move_step, args=(STEP, T, "prev"), shortcut="Left")
        if state.value(state.EXPLORER_PLAYING):
            st.button("Pause", key="pause", type="primary", icon=":material/pause:",
                      on_click=set_playing, args=(False, STEP, T), help="Stop here")
        else:
            st.button("Play", key="play", type="primary", icon=":material/play_arrow:",
                      on_click=set_playing, args=(True, STEP, T),
                      help="Step through the text by itself")
        st.button("", icon=":material/chevron_right:", key="next", help="Next step",
                  on_click=move_step, args=(STEP, T, "next"), shortcut="Right")
        st.button("", icon=":material/last_page:", key="last", help="Last step",
                  on_click=move_step, args=(STEP, T, "last"))
        st.segmented_control("Speed", list(SPEEDS), key="explorer_speed", required=True,
                             persist_state="session", label_visibility="collapsed",
                             help="While playing: " + ", ".join(
                                 f"{name} {rate:g}" for name, rate in SPEEDS.items())
                             + " tokens per second. Every step is drawn, so a slow browser "
                             "plays slower.")
    if T > 1:
        right.slider("Step t", 0, T - 1, key=STEP, persist_state="session")
    t = int(state.widget(STEP))
    j = int(state.widget(NEURON))
    write_url(text=choice.text, step=t, model=entry.key, neuron=j)

    st.plotly_chart(
        text_strip_figure(fwd.tokens, t, unknown=[i for i, _ in fwd.encoded.unknown]),
        key="explorer_strip", on_select="rerun", selection_mode="points", width="content",
        config=NO_BAR)
    tok = fwd.tokens[t]
    st.markdown(f"**Step t = {t}** of {T - 1}: the network reads {quote_token(tok)} "
                f"(token id {int(fwd.encoded.ids[t])}) and updates its hidden state h_t. "
                "Click a token to jump to it.")

    st.subheader("Inside the step", divider="gray")
    st.plotly_chart(
        step_figure(fwd.step_arrays(t), tok, t, neuron=j, zmax=fwd.zmax),
        key="explorer_grid", on_select="rerun", selection_mode="points", config=NO_BAR)
    st.caption(f"Each grid holds the {H} neurons, read row by row (the number on the left is "
               "the first neuron of the row). Hover a cell for its value; click a cell of h_t to "
               "follow that neuron below. Blue is negative, red positive; the four terms share one "
               "colour range over the whole text, h_t always spans −1 … 1.")

    st.subheader(f"Neuron {j} at step {t}, with its numbers", divider="gray")
    pick, eq = st.columns([1, 4], gap="large", vertical_alignment="center")
    pick.number_input("Neuron j", 0, H - 1, key=NEURON, step=1, persist_state="session",
                      help="Or click a cell of the h_t grid above.")
    eq.latex(neuron_equation(fwd, t, j))
    st.caption(
        f"x_{t} is the one-hot vector of {quote_token(tok)}, so W_i x_t is column "
        f"{int(fwd.encoded.ids[t])} of W_i. W_h h_(t−1) is what the {H} neurons of the "
        "previous step pass on through the recurrent weights; b_h is the neuron's bias.")

    st.subheader("What it predicts next", divider="gray")
    bars, words = st.columns([3, 2], gap="large", vertical_alignment="center")
    nxt = fwd.next_id(t)
    bars.plotly_chart(
        prediction_figure(fwd.trace.probs[t], list(entry.vocab.tokens), actual=nxt),
        key="explorer_pred", config=NO_BAR)
    with words:
        st.markdown(f"After reading {quote_token(tok)}, the network's ten best guesses for the "
                    "next token, from p_t = softmax(W_o h_t + b_o).")
        if nxt is None:
            st.caption("This is the last token: there is nothing left to predict.")
        else:
            st.markdown(
                f"Next in your text: {quote_token(fwd.tokens[t + 1])} (amber), which the "
                f"network gave p = {fwd.next_prob(t):.4f}; that costs a loss of −ln p = "
                f"**{fwd.next_loss(t):.3f}** nats.")
        mean = fwd.mean_loss()
        if mean is not None:
            st.caption(f"Average loss over the whole text: {mean:.3f} nats per "
                       f"{entry.vocab.unit_name}.")

    st.subheader(f"Neuron {j} over the text", divider="gray")
    st.plotly_chart(
        text_strip_figure(fwd.tokens, t, values=fwd.trace.h[:, j],
                          unknown=[i for i, _ in fwd.encoded.unknown], value_name=f"h[{j}]"),
        key="explorer_neuron_strip", width="content", config=NO_BAR)
    st.caption(f"Each token is coloured by h[{j}] after reading it: a neuron that lights up "
               "at spaces, vowels or inside words shows it here.")

    st.subheader("The hidden state over the text", divider="gray")
    st.plotly_chart(hidden_over_time_figure(fwd.trace.h, fwd.tokens, t, neuron=j),
                    key="explorer_over_time", config=NO_BAR)


st.fragment(step_view, run_every=interval)()

weights = st.expander("The weights: W_i, W_h, W_o", key="explorer_weights", on_change="rerun",
                      icon=":material/grid_on:")
if weights.open:
    with weights:
        st.metric("Spectral radius of W_h", f"{entry.model.spectral_radius():.3f}",
                  help="The largest |eigenvalue| of W_h. Above 1, the linearised memory can "
                  "grow from step to step; below 1 it fades.")
        labels = list(entry.vocab.tokens)
        tabs = st.tabs(["W_h (memory)", "W_i (input)", "W_o (output)"])
        for tab, name in zip(tabs, ("W_h", "W_i", "W_o"), strict=True):
            with tab:
                st.plotly_chart(weight_figure(name, getattr(entry.model, name), labels),
                                key=f"explorer_{name}")
