"""Hidden-state space: the path of h_t through the plane of its principal components."""

import numpy as np
import streamlit as st

from figures.space import explained_variance, trajectory
from rnn import RNNError
from rnn.analysis import fit_pca, prepare_text, reference_text
from ui.models import current_key, models, set_current

MAX_TOKENS = 300
REFERENCE_CHARS = 5000
CLOUD_POINTS = 1500  # reference states drawn behind the path (every n-th one)
DEFAULT_TEXT = "The lighthouse stood at the end of a long finger of rock."

st.title("Hidden-state space")
st.markdown(
    "The hidden state $h_t$ has one number per unit, far too many to draw. Principal component "
    "analysis finds the few directions along which the states vary most, over a long reference "
    "text; here is the path your text takes through them, one point per token."
)

if not models():
    st.info("No model is loaded yet. Train one on the **Train live** page, or upload one.")
    st.stop()


def _pick_model():
    if st.session_state.get("space_model") != current_key():
        st.session_state["space_model"] = current_key()
    st.selectbox("Model", list(models()), key="space_model",
                 format_func=lambda k: models()[k].label,
                 on_change=lambda: set_current(st.session_state["space_model"]))
    return models()[current_key()]


top = st.columns([2, 3])
with top[0]:
    entry = _pick_model()
    opts = st.columns(2)
    dims = opts[0].radio("View", [2, 3], key="space_dims", horizontal=True,
                         format_func=lambda d: f"{d}-D")
    show_cloud = opts[1].toggle("Reference states", True, key="space_cloud",
                                help="Draw the states of the reference text as a grey cloud.")
with top[1]:
    text = st.text_area("Text", DEFAULT_TEXT, key="space_text", height=110)

if not text:
    st.info("Type a sentence above to see the path its hidden states take.")
    st.stop()
try:
    prepared = prepare_text(entry.vocab, text, MAX_TOKENS)
except RNNError as e:
    st.error(str(e))
    st.stop()
enc = prepared.encoded
if prepared.cut:
    st.warning(f"The text is cut to its first {MAX_TOKENS} tokens ({prepared.cut} dropped).")
if enc.unknown:
    shown = ", ".join(repr(t) for t in enc.unknown_tokens[:20])
    st.caption(f"Not in the model's vocabulary, read as <unk>: {shown}")

# PCA of the model's states over its own corpus, once per model and session.
fit = st.session_state.setdefault("_space_pca", {})
if fit.get("model") is not entry.model:
    ref_text, ref_title = reference_text(entry.meta, REFERENCE_CHARS)
    ref_source = f"the first {len(ref_text)} characters of its corpus “{ref_title}”"
    if len(entry.vocab.encode(ref_text)) < 2:  # no built-in corpus: fit on the user's text
        ref_text, ref_source = text, "your text (the model names no built-in corpus)"
    ref_h = entry.model.forward(entry.vocab.encode(ref_text)).h  # (N, H)
    pca = fit_pca(ref_h, n_components=10)
    every = max(1, len(ref_h) // CLOUD_POINTS)
    fit.clear()
    fit.update(model=entry.model, pca=pca, cloud=pca.project(ref_h[::every]), source=ref_source,
               n_ref=len(ref_h))
pca = fit["pca"]

cache = st.session_state.setdefault("_space_cache", {})
if cache.get("model") is not entry.model or not np.array_equal(cache.get("ids"), enc.ids):
    h = entry.model.forward(enc.ids).h  # (T, H)
    cache.clear()
    cache.update(model=entry.model, ids=enc.ids, z=pca.project(h))
z = cache["z"]
T = len(enc.tokens)

if T > 1:
    if st.session_state.get("space_t", T - 1) > T - 1:
        st.session_state["space_t"] = T - 1
    t = st.slider("Step t", 0, T - 1, T - 1, key="space_t",
                  help="The marked point is h_t, the state after reading token t. The ▶ Play "
                       "button under the chart walks along the path.")
else:
    t = 0

ratio = pca.explained_variance_ratio
cols = st.columns(4)
for i in range(3):
    cols[i].metric(f"PC{i + 1} explains", f"{ratio[i]:.1%}" if i < len(ratio) else "–")
cols[3].metric(f"First {dims} together", f"{ratio[:dims].sum():.1%}")

main, side = st.columns([4, 1])
with main:
    fig = trajectory(z, enc.tokens, ratio, t=t, dims=dims,
                     reference=fit["cloud"] if show_cloud else None)
    st.plotly_chart(fig, key="space_fig")
with side:
    st.plotly_chart(explained_variance(ratio), key="space_var_fig")
    st.caption(f"PCA fitted on the {fit['n_ref']} hidden states of {fit['source']}. "
               "Points close together are states the network treats alike.")
