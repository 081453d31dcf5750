"""Home: what a recurrent network is, its four equations, and a way into each view."""

import streamlit as st

from figures.home import activation_figure
from rnn import ACTIVATIONS
from rnn.analysis import SATURATION
from ui.nav import require_app

WHY = {  # what each g does to a network's memory, in a sentence or two
    "tanh": "tanh squashes every neuron into −1 … 1, steepest at 0 and flat far out. It is the "
            "usual choice: bounded, centred on 0, and with a slope of 1 where the gradient "
            "matters most.",
    "relu": "ReLU lets positive sums through unchanged and cuts negative ones to 0. Its slope is "
            "1 or 0: gradients never shrink through an active neuron, but nothing bounds the "
            "state, so a memory can grow without limit (and explode).",
    "sigmoid": "σ squashes into 0 … 1 and rests at 0.5 (not centred on 0): of the four, its "
               "memories fade fastest.",
    "identity": "With the identity, h_t = a_t: a linear RNN. No neuron ever saturates and no "
                "slope damps the gradient, so whether it vanishes or explodes is up to W_h "
                "alone, and the state is unbounded.",
}

require_app()  # a page opened by a direct link on a fresh server runs via app.py

st.title("RNN Explorer")
st.markdown("#### See a recurrent neural network think, one step at a time.")

left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        "A **recurrent neural network** (RNN) reads a text one token at a time; here a token is "
        "a character. It carries a list of numbers from step to step, its **hidden state** "
        "h_t: a running summary of what it has read so far.\n\n"
        "At each step it mixes the new character with its memory: the character picks a "
        "column of the input weights W_i, the memory is multiplied by the recurrent weights "
        "W_h, and the two are added with a bias. The sum a_t goes through the activation g, "
        "usually tanh, which squashes it into −1 … 1: that is the new hidden state.\n\n"
        "From the hidden state the network scores every possible next character (W_o, b_o) "
        "and turns the scores into probabilities with softmax. Training nudges all the "
        "weights so that the character that really came next gets a high probability."
    )
    name = st.segmented_control(
        "Activation g", list(ACTIVATIONS), default="tanh", key="home_g",
        help="The function that turns the sum a_t into the hidden state h_t = g(a_t). The "
             "Train page offers the same four.") or "tanh"
    g = ACTIVATIONS[name]
    st.plotly_chart(activation_figure(g), key="home_tanh", config={"displayModeBar": False})
    st.caption(f"{WHY[name]} Shaded: where a neuron is saturated, {SATURATION[name]}. The "
               "slope is what a gradient is multiplied by on its way back through the neuron; "
               "the BPTT page counts saturated neurons the same way and compares the four.")
with right:
    st.markdown("**The whole network, at step t**")
    st.latex(r"a_t = W_i\,x_t + W_h\,h_{t-1} + b_h")
    st.latex(rf"h_t = {g.latex}")
    st.latex(r"y_t = W_o\,h_t + b_o")
    st.latex(r"p_t = \operatorname{softmax}(y_t)")
    st.caption("x_t: the one-hot vector of the token read at step t. h_{t−1}: the hidden state "
               "of the step before (zeros at the start). p_t: the probability of each "
               "possible next token. The loss of a step is −ln p_t[next token].")

st.subheader("The views", divider="gray")
VIEWS = [
    ("pages/explorer.py", "Explorer", ":material/timeline:",
     "Type a sentence and step through it: the input, memory, bias, pre-activation and "
     "hidden state at every step as heatmaps, the top guesses for the next character, and "
     "one neuron's equation with the real numbers."),
    ("pages/train.py", "Train live", ":material/model_training:",
     "Train a small network in your browser session and watch the loss fall and the samples "
     "turn from noise into words; then open your model in the Explorer."),
    ("pages/bptt.py", "Backprop through time", ":material/undo:",
     "Follow the gradient backwards through the steps and see it vanish or explode; scale "
     "W_h and watch the same views change."),
    ("pages/space.py", "Hidden-state space", ":material/scatter_plot:",
     "The hidden states of a text projected to 2-D: the path the network walks while it "
     "reads, and which contexts land close together."),
    ("pages/atlas.py", "Neuron atlas", ":material/grid_view:",
     "Every neuron at a glance: what makes it fire, across a whole corpus."),
]
cols = st.columns(len(VIEWS) // 2 + len(VIEWS) % 2)
for i, (path, title, icon, text) in enumerate(VIEWS):
    with cols[i % len(cols)], st.container(border=True):
        st.page_link(path, label=title, icon=icon)
        st.caption(text)
