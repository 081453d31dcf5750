"""The text a view looks at: encoded, cut to a limit, and a reference text for a model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..corpora import CORPORA, load_corpus
from ..errors import RNNError
from ..vocab import Encoded, Vocab


@dataclass
class PreparedText:
    """A user's text encoded for a view, cut to the longest length the view can show."""

    encoded: Encoded  # ids, tokens and unknown tokens of the kept part
    total_tokens: int  # tokens in the text as typed, before the cut

    @property
    def cut(self) -> int:
        """How many tokens were dropped from the end."""
        return self.total_tokens - len(self.encoded.tokens)


def prepare_text(vocab: Vocab, text: str, max_tokens: int, min_tokens: int = 1) -> PreparedText:
    """Encode ``text`` and keep its first ``max_tokens`` tokens; unknown tokens become ``<unk>``.

    Raises
    ------
    RNNError
        If the text has fewer than ``min_tokens`` tokens.
    """
    full = vocab.encode_report(text)
    n = len(full.tokens)
    if n < min_tokens:
        raise RNNError(f"This view needs at least {min_tokens} {vocab.unit_name}s of text; "
                       f"got {n}.")
    if n <= max_tokens:
        return PreparedText(full, n)
    kept = Encoded(full.ids[:max_tokens], full.tokens[:max_tokens],
                   [(i, tok) for i, tok in full.unknown if i < max_tokens])
    return PreparedText(kept, n)


def reference_text(corpus: str | None, max_chars: int = 5000) -> tuple[str, str]:
    """The first ``max_chars`` of the built-in corpus a model was trained on, and its title.

    ``corpus`` is ``ModelMeta.corpus``. Returns ``("", "")`` when it names no built-in corpus.
    """
    name = corpus
    if not isinstance(name, str) or name not in CORPORA:
        return "", ""
    return load_corpus(name)[:max_chars], CORPORA[name].title


def hidden_states(model, ids, chunk: int = 256) -> np.ndarray:
    """h_t of every token, (T, H): ``model.forward(ids).h``, computed ``chunk`` tokens at a
    time with the state carried over, so the (T, V) logits and probabilities a full forward
    pass records never exist for the whole text at once."""
    ids = np.asarray(ids)
    out = np.empty((len(ids), model.hidden_size), model.dtype)  # (T, H)
    h_prev = None
    for start in range(0, len(ids), chunk):
        h = model.forward(ids[start:start + chunk], h_prev).h  # (chunk, H)
        out[start:start + len(h)] = h
        h_prev = h[-1]
    return out
