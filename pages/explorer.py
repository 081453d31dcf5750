"""Explorer: watch the network read a text one token at a time, every number on screen.

The forward pass runs once per (model, text) (``ui.explorer.explorer_trace``) and goes to the
browser in one piece; the step view (``ui.step_view``) steps, plays, picks neurons and switches
the colour mode there, without asking the server. The view lives in the URL
(?text=&step=&model=&neuron=&colour=&speed=), which follows once stepping pauses, so a copied
address shows the same thing.
"""

import streamlit as st

from figures.weights import weight_figure
from session.explorer import speed_text
from ui.explorer import (
    explorer_trace,
    explorer_view,
    read_url_once,
    take_browser_view,
    write_url,
)
from ui.nav import require_app
from ui.step_view import step_view_ui
from ui.widgets import escape_markdown, model_picker_ui, model_summary, quote_token, text_input_ui

TEXT = "text"  # session key, also the URL's parameter name
# the session keys of the view's parts (step and neuron are shared with other pages)
VIEW = {"step": "step", "neuron": "neuron", "colour": "explorer_colour", "speed": "explorer_speed"}

require_app()  # a page opened by a direct link on a fresh server runs via app.py

st.title("Explorer")
st.caption("Type a sentence and step through it: at every token the network adds what it reads "
           "to what it remembers, passes the sum through its activation g (usually tanh), and "
           "guesses the next token.")

url_notices = read_url_once(TEXT, VIEW)  # before the widgets it presets
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

run = explorer_trace(entry, choice.text)
T = run.T
if run.encoded.unknown:
    where = len(run.encoded.unknown)
    shown = ", ".join(quote_token(tok) for tok in run.encoded.unknown_tokens[:12])
    hint = ""
    if where > T / 2:  # e.g. English text for the brackets model
        known = " ".join(quote_token(tok) for tok in entry.vocab.tokens[1:41])
        hint = f" Most of this text is new to the model; it knows these tokens: {known}"
    st.warning(
        f"This model never saw {shown} while training ({where} place{'s' * (where > 1)} in "
        "your text, outlined in red below). It reads each of them as the unknown token "
        f"`<unk>` (id 0), so its guesses around them are poor.{hint}", icon=":material/help:")

view = explorer_view(run, VIEW)


@st.fragment
def step_view() -> None:
    """The step view; reruns alone when the browser reports where it stands."""
    write_url(text=choice.text, step=view.step, model=entry.key, neuron=view.neuron,
              colour=view.colour, speed=speed_text(view.speed))
    step_view_ui(run, view, on_view=lambda: take_browser_view(run, VIEW))


step_view()

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
