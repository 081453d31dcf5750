"""Backprop through time: how strongly the loss at one step depends on every earlier input."""

import numpy as np
import streamlit as st

from figures.bptt import gradient_decay, gradient_text, sensitivity_heatmap
from rnn import RNNError
from rnn.analysis import (
    jacobian_chain,
    prepare_text,
    scaled_model,
    sensitivity_matrix,
    step_gradients,
)
from ui.models import ModelEntry, add_model, current_key, models, set_current

MAX_TOKENS = 300  # the (T, T) sensitivity matrix grows as T^2
DEFAULT_TEXT = "The keeper climbed the steps to the lamp room, as he did every evening."
SCALES = [round(s, 2) for s in np.arange(0.25, 3.001, 0.05)]

st.title("Backprop through time")
st.markdown(
    "Training pushes the loss of each step back through every earlier step. Pick a step **t**: "
    "the colours show how much its loss $L_t = -\\ln p_t[\\text{target}_t]$ depends on each "
    "earlier input. Each step back multiplies the gradient by "
    "$J_k^\\top = W_h^\\top\\,\\mathrm{diag}(1-h_k^2)$, so it usually shrinks (vanishes) "
    "or grows (explodes) with the distance."
)

if not models():
    st.info("No model is loaded yet. Train one on the **Train live** page, or upload one.")
    st.stop()


def _base_of(entry: ModelEntry) -> ModelEntry:
    """The model a scaled copy was made from (itself if it is not a scaled copy)."""
    base = models().get(entry.meta.get("base_key", "")) if entry.source == "scaled" else None
    return base or entry


def _pick_model() -> ModelEntry:
    keys = list(models())
    if st.session_state.get("bptt_model") != current_key():
        st.session_state["bptt_model"] = current_key()
    st.selectbox("Model", keys, key="bptt_model", format_func=lambda k: models()[k].label,
                 on_change=lambda: set_current(st.session_state["bptt_model"]))
    return models()[current_key()]


def _use_scale(base: ModelEntry, scale: float) -> ModelEntry:
    """The base model, or a copy with W_h scaled, registered and made current for every page."""
    if scale == 1.0:
        set_current(base.key)
        return base
    key = f"{base.key}-x{scale:g}"
    if key not in models():
        stale = [k for k, e in models().items()
                 if e.source == "scaled" and e.meta.get("base_key") == base.key]
        for k in stale:  # keep one scaled copy per model, so the model lists stay short
            del models()[k]
        meta = {**base.meta, "base_key": base.key, "scale": scale,
                "description": f"{base.label} with W_h multiplied by {scale:g}."}
        add_model(ModelEntry(key, f"{base.label} × {scale:g} W_h", scaled_model(base.model, scale),
                             base.vocab, meta, "scaled"))
    set_current(key)
    return models()[key]


top = st.columns([2, 3])
with top[0]:
    picked = _pick_model()
    base = _base_of(picked)
    if st.session_state.get("_bptt_picked") != picked.key:  # a new pick sets the slider
        st.session_state["bptt_scale"] = float(picked.meta.get("scale", 1.0)) \
            if picked.source == "scaled" else 1.0
    scale = st.select_slider(
        "What if: multiply W_h by", SCALES, key="bptt_scale",
        help="A copy of the model with its recurrent weights scaled (the original is kept). "
             "The Explorer and the other pages show this copy too.")
    entry = _use_scale(base, float(scale))
    st.session_state["_bptt_picked"] = entry.key
with top[1]:
    text = st.text_area("Text", DEFAULT_TEXT, key="bptt_text", height=110)

if not text:
    st.info("Type a sentence above to see how its gradients flow back through time.")
    st.stop()
try:
    prepared = prepare_text(entry.vocab, text, MAX_TOKENS + 1, min_tokens=2)
except RNNError as e:
    st.info(f"{e} The loss at a step needs the next token as its target.")
    st.stop()
enc = prepared.encoded
if prepared.cut:
    st.warning(f"The text is cut to its first {MAX_TOKENS + 1} tokens ({prepared.cut} dropped).")
if enc.unknown:
    shown = ", ".join(repr(t) for t in enc.unknown_tokens[:20])
    st.caption(f"Not in the model's vocabulary, read as <unk>: {shown}")

ids, targets = enc.ids[:-1], enc.ids[1:]  # step t reads token t and predicts token t+1
tokens = enc.tokens[:-1]
T = len(ids)

cache = st.session_state.setdefault("_bptt_cache", {})
if cache.get("model") is not entry.model or not np.array_equal(cache.get("ids"), enc.ids):
    trace = entry.model.forward(ids)
    cache.clear()
    cache.update(model=entry.model, ids=enc.ids, trace=trace, rho=entry.model.spectral_radius(),
                 sens=sensitivity_matrix(entry.model, trace, targets), steps={})

if T > 1:
    if st.session_state.get("bptt_t", T - 1) > T - 1:
        st.session_state["bptt_t"] = T - 1
    t = st.slider("Loss at step t", 0, T - 1, T - 1, key="bptt_t",
                  help="Step t reads token t and is scored on predicting token t+1.")
else:
    t = 0
if t not in cache["steps"]:
    cache["steps"][t] = (step_gradients(entry.model, cache["trace"], targets, t),
                         jacobian_chain(entry.model, cache["trace"], t, cache["rho"]))
grads, chain = cache["steps"][t]
norms = grads.norms()

vocab = entry.vocab
cols = st.columns(4)
cols[0].metric(f"Loss L_{t}", f"{grads.loss:.3f} nats",
               help=f"Step {t} reads {vocab.token(int(ids[t]))!r} and should predict "
                    f"{vocab.token(int(targets[t]))!r}.")
cols[1].metric("Spectral radius of W_h", f"{chain.spectral_radius:.3f}",
               help="max |eigenvalue| of W_h. Well below 1 the gradient fades with distance; "
                    "above 1 it can grow, unless tanh saturation damps it.")
cols[2].metric(f"Saturated units at t={t}", f"{chain.saturated[t]:.0%}",
               help="Share of units with |h_t| > 0.95, where tanh' = 1 - h^2 < 0.1.")
ratio = norms["dh"][0] / norms["dh"][t] if norms["dh"][t] > 0 else float("nan")
cols[3].metric(f"‖dL/dh_0‖ ÷ ‖dL/dh_{t}‖", f"{ratio:.2e}",
               help=f"How much of the gradient at step {t} is left after {t} steps back.")

st.subheader(f"Which inputs does the loss at step {t} depend on?")
st.caption("Colour: log10 ‖dL_t/dx_k‖, the gradient reaching input token k (x_k one-hot, so "
           "dL_t/dx_k = W_iᵀ dL_t/da_k). The outlined token is step t; later tokens do not "
           "affect L_t.")
st.plotly_chart(gradient_text(tokens, norms["dx"], t), key="bptt_text_fig")
st.plotly_chart(gradient_decay(tokens, t, norms["dh"], norms["dx"], chain.frobenius,
                               chain.saturated), key="bptt_decay_fig")
st.caption("Norms are Euclidean 2-norms over units. The dotted line is the Frobenius norm of the "
           "Jacobian product ∂h_t/∂h_k = J_t ⋯ J_(k+1) with J_j = diag(1 − h_j²) W_h; it starts "
           "at √H for k = t (the identity). On a log axis, a straight falling line is an "
           "exponentially vanishing gradient.")

with st.expander("Every step at once: the (T, T) matrix of ‖dL_t/dh_k‖", expanded=False):
    st.plotly_chart(sensitivity_heatmap(cache["sens"].dh_norm, tokens, t), key="bptt_matrix_fig")
