"""Neuron atlas: what each hidden neuron responds to, over a longer text."""

import streamlit as st

from figures.atlas import feature_bars, selectivity_grid, text_heatmap
from rnn import RNNError, display_token
from rnn.analysis import (
    hidden_states,
    neuron_report,
    prepare_text,
    reference_text,
    text_features,
    top_contexts,
)
from session.links import read_choice, read_int
from ui import state
from ui.links import view_from_url, write_url
from ui.nav import require_app
from ui.widgets import model_picker_ui, unknown_tokens_ui

MAX_TOKENS = 3000
CORPUS_CHARS = 2000
TOP_K = 6
MAX_UNITS = 4096  # a link's neuron is checked against the model once it is known
OWN_TEXT_IN_URL = 2000  # characters of the user's own text kept in the URL
TEXT_WIDTH = 80  # characters per line of the coloured text

require_app()  # a page opened by a direct link on a fresh server runs via app.py

st.title("Neuron atlas")
st.markdown(
    "Each hidden neuron $h_t[j]$ is one number per step. Over a long text, some neurons track "
    "something you can name: a space just passed, the position in a word, an open bracket. "
    "The atlas correlates every neuron with a set of simple text features and sorts the neurons by "
    "how well their best feature explains them (|Pearson r|)."
)


# A link's view (?source=&unit=&own=, the model in the app's frame), once per session.
view, notices = view_from_url(state.ATLAS_URL_READ, {
    "source": lambda raw: read_choice(raw, {"corpus": "corpus", "own": "own"}, "text source"),
    "own": lambda raw: raw, "unit": lambda raw: read_int(raw, 0, MAX_UNITS - 1, "neuron")})
for name, key in (("source", "atlas_source"), ("own", "atlas_text"), ("unit", "atlas_unit")):
    if name in view:
        state.preset(key, view[name])
if "unit" in view:  # the neuron the link names wins over the Explorer's
    state.set_value(state.ATLAS_NEURON_SEEN, state.widget("neuron"))

entry = model_picker_ui()
for notice in notices:
    st.warning(notice, icon=":material/link_off:")
top = st.columns([2, 3])
with top[0]:
    corpus_text, corpus_title = reference_text(entry.meta.corpus, CORPUS_CHARS)
    sources = (["corpus"] if corpus_text else []) + ["own"]
    source = st.radio(
        "Text to read", sources, key="atlas_source", horizontal=True, persist_state="session",
        format_func=lambda s: f"Its corpus: {corpus_title}" if s == "corpus" else "My own text")
with top[1]:
    if source == "own":
        text = st.text_area("Your text", key="atlas_text", height=110, persist_state="session",
                            placeholder="Paste a paragraph or more: the longer, the clearer.")
    else:
        text = corpus_text
        st.caption(f"The first {len(text)} characters of “{corpus_title}”, the text this model "
                   "was trained on.")

if not text.strip():  # empty or white space only: nothing to read
    st.info("Paste some text (a paragraph or more) to see what each neuron responds to.")
    st.stop()
try:
    prepared = prepare_text(entry.vocab, text, MAX_TOKENS, min_tokens=2)
except RNNError as e:
    st.info(str(e))
    st.stop()
enc = prepared.encoded
if prepared.cut:
    st.warning(f"The text is cut to its first {MAX_TOKENS} tokens ({prepared.cut} dropped).")
unknown_tokens_ui(enc)


def _atlas():
    """h (T, H), the report and a description of every neuron: once per (model, text)."""
    h = hidden_states(entry.model, enc.ids)  # (T, H)
    report = neuron_report(h, text_features(enc.tokens, entry.vocab.level))
    return h, report, [report.describe(j) for j in range(h.shape[1])]


h, report, descriptions = state.cached("atlas", (entry.model, enc.ids), _atlas)
H = h.shape[1]
if entry.vocab.level == "word":
    st.caption("A word-level model: the features that need one character per token (after a "
               "space, position in a word, word start, vowel) are left out, and the length of "
               "each word is in.")

# A click on the grid picks the neuron; it is applied once, so the list below can change it again.
points = (state.widget("atlas_grid") or {}).get("selection", {}).get("points", [])
if points:
    clicked = int(points[0].get("customdata", -1))
    if state.is_new(state.ATLAS_CLICKED, clicked) and 0 <= clicked < H:
        state.preset("atlas_unit", clicked)
explorer_neuron = state.widget("neuron")  # the Explorer's neuron, when it chose a new one
if explorer_neuron in range(H) and explorer_neuron != state.value(state.ATLAS_NEURON_SEEN):
    state.preset("atlas_unit", explorer_neuron)
if state.widget("atlas_unit") not in range(H):
    state.preset("atlas_unit", int(report.order[0]))

neuron = st.selectbox(
    "Neuron (most selective first)", report.order.tolist(), key="atlas_unit",
    persist_state="session",
    format_func=lambda j: f"neuron {j}: {descriptions[j]}",
)
if neuron != state.widget("neuron"):  # the Explorer shows this neuron next
    state.preset("neuron", neuron)
state.set_value(state.ATLAS_NEURON_SEEN, neuron)
write_url(model=entry.key, source=source, unit=neuron,
          **({"own": text[:OWN_TEXT_IN_URL]} if source == "own" else {}))
if st.button(f"Open neuron {neuron} in the Explorer", key="atlas_to_explorer",
             icon=":material/timeline:"):
    st.switch_page("pages/explorer.py")
st.plotly_chart(selectivity_grid(report.best_r, report.order, descriptions, selected=neuron),
                key="atlas_grid", on_select="rerun", selection_mode="points")
st.caption("Click a square to look at that neuron. Red: the neuron is high when its feature is "
           "present; blue: low. Pale: no single feature explains it.")


def _table(contexts):
    return {
        "h": [round(c.activation, 3) for c in contexts],
        "before": [display_token(c.before) for c in contexts],
        "token": [display_token(c.token) for c in contexts],
        "after": [display_token(c.after) for c in contexts],
        "position": [c.position for c in contexts],
    }


st.subheader(f"Neuron {neuron}")
st.markdown(f"**{descriptions[neuron]}**")
left, right = st.columns([1, 2], gap="large")
with left:
    st.plotly_chart(feature_bars(report.r[neuron], report.feature_names, neuron=neuron),
                    key="atlas_bars_fig")
with right:
    cols = st.columns(3)
    cols[0].metric("Best feature", report.feature_names[report.best_feature[neuron]])
    cols[1].metric("Pearson r", f"{report.best_r[neuron]:+.3f}")
    cols[2].metric("Variance of h", f"{report.variance[neuron]:.3f}",
                   help="Variance of the neuron's activation over the text.")
    st.markdown(f"**Where neuron {neuron} is highest**")
    st.dataframe(_table(top_contexts(h[:, neuron], enc.tokens, TOP_K, largest=True)),
                 hide_index=True, key="atlas_top")
    st.markdown(f"**Where neuron {neuron} is lowest**")
    st.dataframe(_table(top_contexts(h[:, neuron], enc.tokens, TOP_K, largest=False)),
                 hide_index=True, key="atlas_bottom")

st.plotly_chart(text_heatmap(enc.tokens, h[:, neuron], width=TEXT_WIDTH, zmax=1.0,
                             colorbar_title=f"h[{neuron}]", hover_name=f"h[{neuron}] =",
                             title=f"h_t[{neuron}] over the text: red +1, white 0, blue −1"),
                key="atlas_text_fig")
