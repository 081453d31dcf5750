"""What single hidden neurons respond to: text features, correlations, top contexts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import RNNError

OPEN, CLOSE = "([{", ")]}"
VOWELS = set("aeiouAEIOU")

# name -> the phrase that completes "high ..." (r > 0) or "low ..." (r < 0)
FEATURES: dict[str, str] = {
    "space": "on a space",
    "after_space": "right after a space",
    "word_position": "the further into a word (position in word)",
    "word_start": "at the first letter of a word",
    "vowel": "on vowels",
    "letter": "on letters",
    "uppercase": "on capital letters",
    "digit": "on digits",
    "punctuation": "on punctuation",
    "sentence_end": "right after . ! or ?",
    "line_start": "at the start of a line",
    "line_position": "the further along a line",
    "newline": "on a line break",
    "in_brackets": "inside brackets",
    "depth": "the deeper brackets are nested",
    "in_quotes": "inside quotes",
    "word_length": "the longer the word",
}
# what only means something when every token is one character (with words, every word token
# is a word start, its position in the word is 1 and it is no vowel), and what words add
CHAR_ONLY = ("after_space", "word_position", "word_start", "vowel")
WORD_ONLY = ("word_length",)


def feature_names(level: str = "char") -> tuple[str, ...]:
    """The features that make sense for a vocabulary level, in the order of ``FEATURES``."""
    hidden = WORD_ONLY if level == "char" else CHAR_ONLY
    return tuple(n for n in FEATURES if n not in hidden)


@dataclass
class TextFeatures:
    """Binary and real-valued properties of each position of a text, known by that position."""

    names: tuple[str, ...]  # (F,) keys of FEATURES
    values: np.ndarray  # (T, F) float


def text_features(tokens: list[str], level: str = "char") -> TextFeatures:
    """Features of each token, using only the token and what came before it (as the RNN does).

    ``level`` "word" drops the features that need one character per token (``CHAR_ONLY``) and
    adds the word's length; a token's first character stands for it in the others (a
    capitalised word is "uppercase", a number a "digit").

    Counters (``word_position``, ``line_position``, ``depth``, ``in_quotes``) count the state
    after reading the token: in ``(a)`` the depth is 1, 1, 0, while ``in_brackets`` is 1 for
    all three (the brackets themselves belong to the bracketed part); quote marks likewise.
    """
    T = len(tokens)
    out = {name: np.zeros(T) for name in FEATURES}
    prev = "\n"  # the text starts as if after a line break
    word_pos = line_pos = depth = 0
    quoted = False
    for i, tok in enumerate(tokens):
        c = tok[:1] or " "
        is_letter = c.isalpha()
        word_pos = word_pos + 1 if is_letter else 0
        line_pos = 0 if prev == "\n" else line_pos + 1
        if c in OPEN:
            depth += 1
        elif c in CLOSE:
            depth = max(depth - 1, 0)
        if c == '"':
            quoted = not quoted
        row = {
            "space": c == " ", "after_space": prev == " ", "word_position": word_pos,
            "word_start": word_pos == 1, "vowel": c in VOWELS, "letter": is_letter,
            "uppercase": c.isupper(), "digit": c.isdigit(),
            "punctuation": not (c.isalnum() or c.isspace()), "sentence_end": prev in ".!?",
            "line_start": prev == "\n" and c != "\n", "line_position": line_pos,
            "newline": c == "\n", "in_brackets": depth > 0 or c in CLOSE, "depth": depth,
            "in_quotes": quoted or c == '"', "word_length": len(tok) if is_letter else 0,
        }
        for name, v in row.items():
            out[name][i] = float(v)
        prev = tok[-1:] or " "
    names = feature_names(level)
    return TextFeatures(names, np.stack([out[n] for n in names], axis=1))


def correlations(x: np.ndarray, f: np.ndarray) -> np.ndarray:
    """Pearson r between every column of x (T, H) and of f (T, F), shaped (H, F); 0 if constant."""
    x = np.asarray(x, dtype=np.float64)
    f = np.asarray(f, dtype=np.float64)
    xc = x - x.mean(axis=0)
    fc = f - f.mean(axis=0)
    sx = np.sqrt((xc * xc).sum(axis=0))  # (H,)
    sf = np.sqrt((fc * fc).sum(axis=0))  # (F,)
    denom = np.outer(sx, sf)
    r = np.dot(xc.T, fc)  # (H, F)
    ok = denom > 1e-12 * max(1.0, float(denom.max(initial=0.0)))
    return np.where(ok, r / np.where(ok, denom, 1.0), 0.0)


@dataclass
class NeuronReport:
    """What each hidden neuron correlates with over a text, and how selective it is."""

    r: np.ndarray  # (H, F) Pearson r of each neuron's h with each feature
    best_feature: np.ndarray  # (H,) index of the feature with the largest |r|
    best_r: np.ndarray  # (H,) that r, signed
    variance: np.ndarray  # (H,) variance of each neuron's activation over the text
    order: np.ndarray  # (H,) neurons by decreasing selectivity |best_r|
    feature_names: tuple[str, ...]  # (F,)

    @property
    def selectivity(self) -> np.ndarray:
        """|r| of each neuron's best feature, shaped (H,): how well one feature explains it."""
        return np.abs(self.best_r)

    def describe(self, neuron: int) -> str:
        """A one-line reading of a neuron, e.g. 'high inside brackets (r = +0.82)'."""
        name = self.feature_names[self.best_feature[neuron]]
        r = float(self.best_r[neuron])
        if abs(r) < 0.1:
            return f"no clear pattern among the features (best: {name}, r = {r:+.2f})"
        weak = ", weak" if abs(r) < 0.3 else ""
        return f"{'high' if r > 0 else 'low'} {FEATURES[name]} (r = {r:+.2f}{weak})"


def neuron_report(h: np.ndarray, features: TextFeatures) -> NeuronReport:
    """Correlate every neuron's activation h (T, H) with every text feature (T, F)."""
    h = np.asarray(h)
    if h.ndim != 2 or h.shape[0] != features.values.shape[0]:
        raise RNNError("The activations (T, H) and the text features (T, F) must cover one text.")
    r = correlations(h, features.values)  # (H, F)
    best = np.argmax(np.abs(r), axis=1)  # (H,)
    best_r = r[np.arange(r.shape[0]), best]
    order = np.lexsort((np.arange(len(best_r)), -np.abs(best_r)))  # stable: ties by neuron id
    return NeuronReport(r, best, best_r, h.var(axis=0), order, features.names)


@dataclass
class Context:
    """A window of text around one position, for 'where does this neuron fire'."""

    position: int  # index of the token
    activation: float  # h_t of the neuron at that token
    before: str  # text just before the token
    token: str
    after: str  # text just after


def top_contexts(values: np.ndarray, tokens: list[str], k: int = 5, largest: bool = True,
                 before: int = 15, after: int = 4) -> list[Context]:
    """The k positions with the largest (or smallest) values, at least ``before`` tokens apart.

    Parameters
    ----------
    values : array, shape (T,)
        One neuron's activation over the text.
    tokens : list of str, length T
    """
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(tokens),):
        raise RNNError("The values and the tokens must have the same length.")
    order = np.argsort(-values if largest else values, kind="stable")
    taken: list[int] = []
    for i in order.tolist():
        if len(taken) == k:
            break
        if all(abs(i - j) > before for j in taken):
            taken.append(i)
    return [Context(i, float(values[i]), "".join(tokens[max(0, i - before): i]), tokens[i],
                    "".join(tokens[i + 1: i + 1 + after])) for i in taken]
