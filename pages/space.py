"""Hidden-state space: the path of h_t through the plane of its principal components."""

import streamlit as st

from figures.space import explained_variance, trajectory
from rnn import RNNError
from rnn.analysis import fit_pca, hidden_states, prepare_text, reference_text
from session.links import read_choice, read_int
from ui import state
from ui.links import view_from_url, write_url
from ui.nav import require_app
from ui.widgets import MAX_CHARS, model_picker_ui, text_input_ui, unknown_tokens_ui

REFERENCE_CHARS = 5000
CLOUD_POINTS = 1500  # reference states drawn behind the path (every n-th one)

require_app()  # a page opened by a direct link on a fresh server runs via app.py

st.title("Hidden-state space")
st.markdown(
    "The hidden state $h_t$ has one number per neuron, far too many to draw. Principal component "
    "analysis finds the few directions along which the states vary most, over a long reference "
    "text; here is the path your text takes through them, one point per token."
)


# A link's view (?text=&step=&view=, the model in the app's frame), once per session.
view, notices = view_from_url(state.SPACE_URL_READ, {
    "text": lambda raw: raw, "step": lambda raw: read_int(raw, 0, MAX_CHARS, "step"),
    "view": lambda raw: read_choice(raw, {"2d": 2, "3d": 3}, "view")})
for name, key in (("text", "text"), ("step", "space_t"), ("view", "space_dims")):
    if name in view:
        state.preset(key, view[name])

entry = model_picker_ui()
for notice in notices:
    st.warning(notice, icon=":material/link_off:")
top = st.columns([3, 1, 1])
with top[0]:
    choice = text_input_ui()
dims = top[1].radio("View", [2, 3], key="space_dims", horizontal=True,
                    format_func=lambda d: f"{d}-D", persist_state="session")
if state.widget("space_cloud") is None:  # default on; no value= (ui.state keeps it)
    state.preset("space_cloud", True)
show_cloud = top[2].toggle("Reference states", key="space_cloud", persist_state="session",
                           help="Draw the states of the reference text as a grey cloud.")

write_url(model=entry.key, text=choice.text, view=f"{dims}d")
if choice.empty:
    st.stop()
try:
    prepared = prepare_text(entry.vocab, choice.text, MAX_CHARS)
except RNNError as e:
    st.error(str(e))
    st.stop()
enc = prepared.encoded
unknown_tokens_ui(enc)

# PCA of the model's states over its own corpus, once per model and reference text.
model = entry.model
ref_text, ref_title = reference_text(entry.meta.corpus, REFERENCE_CHARS)
ref_source = f"the first {len(ref_text)} characters of its corpus “{ref_title}”"
if not ref_text:  # the model names no built-in corpus: fit on the user's text
    ref_text, ref_source = choice.text, "your text (the model names no built-in corpus)"


def _fit():
    """The PCA of the reference states and the cloud of them drawn behind the path."""
    ref_h = hidden_states(model, entry.vocab.encode(ref_text))  # (N, H)
    pca = fit_pca(ref_h, n_components=10)
    every = max(1, len(ref_h) // CLOUD_POINTS)
    return pca, pca.project(ref_h[::every]), len(ref_h)


try:
    pca, cloud, n_ref = state.cached("space_pca", (model, ref_text), _fit)
except RNNError:
    st.info("Type at least two characters: PCA needs two or more states to find axes.")
    st.stop()
z = state.cached("space_path", (model, enc.ids, pca),
                 lambda: pca.project(hidden_states(model, enc.ids)))
T = len(enc.tokens)

t = state.clamp_step("space_t", T, last_first=True)  # the last step first; never past the end
if T > 1:
    t = st.slider("Step t", 0, T - 1, key="space_t", persist_state="session",
                  help="The marked point is h_t, the state after reading token t. The ▶ Play "
                       "button under the chart walks along the path.")
write_url(step=t)

ratio = pca.explained_variance_ratio
cols = st.columns(4)
for i in range(3):
    cols[i].metric(f"PC{i + 1} explains", f"{ratio[i]:.1%}" if i < len(ratio) else "–")
cols[3].metric(f"First {dims} together", f"{ratio[:dims].sum():.1%}")

fig = trajectory(z, enc.tokens, ratio, t=t, dims=dims,
                 reference=cloud if show_cloud else None)
st.plotly_chart(fig, key="space_fig")
below = st.columns([1, 2], gap="large")
with below[0]:
    st.plotly_chart(explained_variance(ratio), key="space_var_fig")
with below[1]:
    st.markdown("**What am I looking at?**")
    st.caption(f"PCA fitted on the {n_ref} hidden states of {ref_source}. Each point "
               "is h_t after reading the token written beside it; points close together are "
               "states the network treats alike. The axes keep only the share of the variance "
               "shown in their titles: two states far apart in all "
               f"{entry.model.hidden_size} dimensions can still land close together here.")
