"""Backprop through time: how strongly the loss at one step depends on every earlier input."""

import numpy as np
import streamlit as st

from figures.bptt import (
    activation_comparison,
    gradient_decay,
    gradient_text,
    mark_loss_step,
    sensitivity_heatmap,
)
from rnn import ACTIVATIONS, RNNError
from rnn.analysis import (
    SATURATION,
    jacobian_chain,
    prepare_text,
    sensitivity_matrix,
    step_gradients,
)
from rnn.analysis import gradient_decay as decay_of
from session.links import read_int, read_scale
from ui import state
from ui.links import view_from_url, write_url
from ui.nav import require_app
from ui.widgets import MAX_CHARS, model_picker_ui, quote_token, text_input_ui, unknown_tokens_ui

MATRIX_MAX = 200  # longest text whose (T, T) sensitivity matrix is computed
COMPARE_MAX = 120  # tokens of the text the four models that differ only in g compare on
COMPARE_KEYS = [f"g-{name}" for name in ACTIVATIONS]  # the shipped models (scripts/make_models.py)
SCALES = [round(s, 2) for s in np.arange(0.25, 3.001, 0.05)]

require_app()  # a page opened by a direct link on a fresh server runs via app.py

st.title("Backprop through time")
st.markdown(
    "Training pushes the loss of each step back through every earlier step. Pick a step **t** "
    "below: the colours show how much its loss depends on each earlier input. Every step back "
    "multiplies the gradient by one more Jacobian, so it usually shrinks (vanishes) or grows "
    "(explodes) with the distance."
)


def _add_untrained() -> None:
    """An untrained model shaped like the current one becomes the current model."""
    shelf = state.shelf()
    shelf.add_untrained(shelf.current)


def _on_scale() -> None:
    """The slider moved: make the scaled copy (or the original at 1.0) the current model."""
    shelf = state.shelf()
    shelf.use_scale(shelf.base_of(shelf.current), float(state.widget("bptt_scale")))


# A link's view (?text=&t=&scale=, the model in the app's frame), once per session.
view, notices = view_from_url(state.BPTT_URL_READ, {
    "text": lambda raw: raw, "t": lambda raw: read_int(raw, 0, MAX_CHARS, "step t"),
    "scale": lambda raw: read_scale(raw, SCALES, "W_h scale")})
if "text" in view:
    state.preset("text", view["text"])
if "t" in view:
    state.preset("bptt_t", view["t"])
if "scale" in view:
    state.shelf().use_scale(state.shelf().base_of(state.shelf().current), view["scale"])

# The current model decides the slider (so it survives visits to other pages): a scaled copy
# shows its scale, any other model 1.0; moving the slider changes the current model.
entry = model_picker_ui()
for notice in notices:
    st.warning(notice, icon=":material/link_off:")
if state.widget("bptt_scale") != entry.scale:  # only then: never fight a drag
    state.preset("bptt_scale", entry.scale)
g = entry.model.g
st.latex(r"L_t = -\ln p_t[\mathrm{target}_t], \qquad "
         r"\frac{\partial L_t}{\partial h_k} = J_{k+1}^\top \cdots J_t^\top\, "
         r"\frac{\partial L_t}{\partial h_t}, \qquad J_j = \mathrm{diag}\big(g'(a_j)\big)\, W_h,"
         rf"\qquad g'(a_j) = {g.slope_latex.replace('_t', '_j')}")
st.caption(f"This model's activation is g = {g.name}, h = {g.formula}; its slope g′ is what "
           "each step back multiplies the gradient by, neuron by neuron.")

top = st.columns([3, 2])
with top[0]:
    choice = text_input_ui()
with top[1]:
    st.select_slider(
        "What if: multiply W_h by", SCALES, key="bptt_scale", on_change=_on_scale,
        help="Works on a copy of the model with its recurrent weights scaled; the original is "
             "kept. The copy becomes the current model, so the Explorer shows it too.")
    if state.shelf().base_of(entry).source != "untrained":
        st.button("Try an untrained model", key="bptt_untrained", on_click=_add_untrained,
                  icon=":material/casino:",
                  help="Random weights with W_h's spectral radius near 1 and no saturation yet: "
                       "the slider then moves the spectral radius itself, and you can watch the "
                       "gradient vanish below 1 and explode above it.")

write_url(model=entry.key, text=choice.text, scale=f"{entry.scale:g}")
if choice.empty:
    st.stop()
try:
    prepared = prepare_text(entry.vocab, choice.text, MAX_CHARS, min_tokens=2)
except RNNError as e:
    st.info(f"{e} The loss at a step needs the next token as its target.")
    st.stop()
enc = prepared.encoded
unknown_tokens_ui(enc)

ids, targets = enc.ids[:-1], enc.ids[1:]  # step t reads token t and predicts token t+1
tokens = enc.tokens[:-1]
T = len(ids)

# Results per (model, text) in this session: a slider move computes only the chosen step.
model = entry.model
rho = state.cached("bptt_rho", model, model.spectral_radius)
trace = state.cached("bptt_trace", (model, enc.ids), lambda: model.forward(ids))
t = state.clamp_step("bptt_t", T, last_first=True)  # the last step first; never past the end
if T > 1:
    t = st.slider("Loss at step t", 0, T - 1, key="bptt_t", persist_state="session",
                  help="Step t reads token t and is scored on predicting token t+1.")
write_url(t=t)
steps = state.cached("bptt_steps", (model, enc.ids), dict)  # t -> (gradients, chain)
if t not in steps:
    steps[t] = (step_gradients(model, trace, targets, t), jacobian_chain(model, trace, t, rho))
grads, chain = steps[t]
norms = grads.norms()

vocab = entry.vocab
cols = st.columns(4)
cols[0].metric(f"Loss L_{t}", f"{grads.loss:.3f} nats",
               help=f"Step {t} reads {quote_token(vocab.token(int(ids[t])))} and should predict "
                    f"{quote_token(vocab.token(int(targets[t])))}.")
cols[1].metric("Spectral radius of W_h", f"{chain.spectral_radius:.3f}",
               help="max |eigenvalue| of W_h. Well below 1 the gradient fades with distance; "
                    f"above 1 it can grow, unless {g.name}'s saturation damps it.")
cols[2].metric(f"Saturated neurons at t={t}", f"{chain.saturated[t]:.0%}",
               help=f"A neuron is saturated when its slope {g.name}′(a) is below 0.1, so a "
                    f"gradient keeps less than a tenth through it. For {g.name}: "
                    f"{SATURATION[g.name]} (the shaded ranges on Home).")
ratio = norms["dh"][0] / norms["dh"][t] if norms["dh"][t] > 0 else float("nan")
cols[3].metric(f"‖dL/dh_0‖ ÷ ‖dL/dh_{t}‖", f"{ratio:.2e}",
               help=f"How much of the gradient at step {t} is left after {t} steps back.")

st.subheader(f"Which inputs does the loss at step {t} depend on?")
st.caption("Colour: log10 ‖dL_t/dx_k‖, the gradient reaching input token k (x_k one-hot, so "
           "dL_t/dx_k = W_iᵀ dL_t/da_k). The outlined token is step t; later tokens do not "
           "affect L_t.")
st.plotly_chart(gradient_text(tokens, norms["dx"], t), key="bptt_text_fig")
st.markdown(f"**How the loss at step {t} fades (or grows) with the distance back**")
st.plotly_chart(gradient_decay(tokens, t, norms["dh"], norms["dx"], chain.frobenius,
                               chain.saturated, g), key="bptt_decay_fig")
st.caption("Norms are Euclidean 2-norms over neurons. The dotted line is the Frobenius norm of the "
           f"Jacobian product ∂h_t/∂h_k = J_t ⋯ J_(k+1) with J_j = diag({g.name}′(a_j)) W_h, "
           f"{g.name}′ = {g.slope_formula}; it starts at √H for k = t (the identity). On a log "
           "axis, a straight falling line is an exponentially vanishing gradient.")

st.subheader("Every step at once")
if state.widget("bptt_matrix") is None:  # default on; no value= (ui.state keeps it)
    state.preset("bptt_matrix", True)
if T > MATRIX_MAX:
    st.caption(f"The matrix of every loss step against every state is drawn for texts of up to "
               f"{MATRIX_MAX} steps (its cost grows as T²); this one has {T}.")
elif st.toggle("Show the (T, T) matrix of ‖dL_t/dh_k‖", key="bptt_matrix",
               persist_state="session"):
    sens_fig = state.cached(  # built once per (model, text); a step only moves the outline
        "bptt_matrix", (model, enc.ids),
        lambda: sensitivity_heatmap(sensitivity_matrix(model, trace, targets).dh_norm, tokens))
    st.plotly_chart(mark_loss_step(sens_fig, t), key="bptt_matrix_fig")
    st.caption("Row t is the curve above for the loss at step t. Reading down a column: how "
               "much state h_k matters to every later loss.")

st.subheader("Same text, four activations")
shelf = state.shelf()
if all(k in shelf for k in COMPARE_KEYS):
    compare = {k[2:]: shelf[k] for k in COMPARE_KEYS}
    text = choice.text
    decays = state.cached("bptt_compare", text, lambda: {
        name: decay_of(e.model, e.model.forward(ids_g[:-1]), ids_g[1:], max_distance=40)
        for name, e in compare.items()
        for ids_g in [e.vocab.encode(text)[: COMPARE_MAX + 1]]})
    st.plotly_chart(activation_comparison(decays, compare["tanh"].vocab.unit_name),
                    key="bptt_compare_fig")
    st.caption(
        "Four models trained alike on the English corpus (same seed, settings and steps), "
        "differing only in g, read the first "
        f"{min(COMPARE_MAX, max(len(text) - 1, 1))} characters of your text. Left: how much of "
        "the gradient of a loss is left d steps back, ‖dL_t/dh_(t−d)‖ ÷ ‖dL_t/dh_t‖ (median "
        "over t). Right: the loss on the text (hover for the share of saturated neurons). "
        "Sigmoid's slope is at most 1/4, so its gradient fades fastest; the identity never "
        "saturates and leaves it all to W_h.")
else:
    st.caption("The four models that differ only in g (models/g-*.npz, made by "
               "scripts/make_models.py) are not on this server.")
