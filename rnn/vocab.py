"""Vocabulary: text <-> token ids, character-level or word-level, with an explicit unknown token."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .errors import RNNError

UNK = "<unk>"  # token 0 of every vocabulary: anything the corpus never showed
UNK_GLYPH = "\ufffd"  # how an unknown character is written back into text
WORD_PATTERN = re.compile(r"\w+|\s+|[^\w\s]")  # words, runs of white space, single punctuation
LEVELS = ("char", "word")
UNIT_NAMES = {"char": "character", "word": "word"}  # what a loss is "per", by level
VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥"}  # how white space is shown wherever a token is shown


def display_token(tok: str, max_chars: int | None = None) -> str:
    """A token (or a stretch of text) as it is shown: every newline as ↵ and tab as ⇥; spaces
    as ␣ when the token is only white space (in a stretch of words they stay spaces). Past
    ``max_chars``, a long word is cut with an ellipsis (the full token belongs in the hover)."""
    if tok.isspace():
        shown = "".join(VISIBLE.get(c, c) for c in tok)
    else:
        shown = tok.replace("\n", VISIBLE["\n"]).replace("\t", VISIBLE["\t"])
    if max_chars is not None and len(shown) > max_chars:
        shown = shown[: max(max_chars - 1, 1)] + "…"
    return shown


def tokenize(text: str, level: str = "char") -> list[str]:
    """Split text into tokens: characters, or words / white space / punctuation."""
    if level == "char":
        return list(text)
    if level == "word":
        return WORD_PATTERN.findall(text)
    raise RNNError(f"Unknown vocabulary level {level!r}: choose 'char' or 'word'.")


@dataclass(frozen=True)
class Encoded:
    """Token ids of a text, with the tokens the vocabulary did not know."""

    ids: np.ndarray  # (T,) int64, unknown tokens are id 0
    tokens: list[str]  # (T,) the text's own tokens, unknown ones included as written
    unknown: list[tuple[int, str]]  # (position, token) of every token mapped to <unk>

    @property
    def unknown_tokens(self) -> list[str]:
        """Distinct unknown tokens, in order of first appearance."""
        return list(dict.fromkeys(tok for _, tok in self.unknown))


@dataclass(frozen=True)
class Vocab:
    """An ordered token list; id 0 is always the unknown token ``<unk>``."""

    tokens: tuple[str, ...]
    level: str = "char"
    index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.level not in LEVELS:
            raise RNNError(f"Unknown vocabulary level {self.level!r}: choose 'char' or 'word'.")
        if not self.tokens or self.tokens[0] != UNK:
            raise RNNError("A vocabulary must start with the unknown token '<unk>'.")
        if len(set(self.tokens)) != len(self.tokens):
            raise RNNError("A vocabulary must not list a token twice.")
        if any(not isinstance(t, str) or not t for t in self.tokens):
            raise RNNError("Every vocabulary token must be a non-empty string.")
        if self.level == "char" and any(len(t) != 1 for t in self.tokens[1:]):
            raise RNNError("A character vocabulary holds single characters only.")
        object.__setattr__(self, "index", {t: i for i, t in enumerate(self.tokens)})

    @classmethod
    def build(cls, text: str, level: str = "char", max_size: int | None = None) -> Vocab:
        """Build a vocabulary from a corpus; with ``max_size``, keep the most frequent tokens."""
        if max_size is not None and max_size < 2:
            raise RNNError("A vocabulary needs room for at least one token besides <unk>.")
        counts = Counter(tokenize(text, level))
        if not counts:
            raise RNNError("Cannot build a vocabulary from empty text.")
        kept = counts.most_common(max_size - 1 if max_size else None)
        return cls((UNK, *sorted(tok for tok, _ in kept)), level)

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def size(self) -> int:
        """V, the number of tokens including ``<unk>``."""
        return len(self.tokens)

    @property
    def unit_name(self) -> str:
        """What a loss in nats is per: 'character' or 'word'."""
        return UNIT_NAMES[self.level]

    def encode_report(self, text: str) -> Encoded:
        """Encode text and report every token that is not in the vocabulary."""
        tokens = tokenize(text, self.level)
        ids = np.fromiter((self.index.get(t, 0) for t in tokens), dtype=np.int64, count=len(tokens))
        unknown = [(i, tokens[i]) for i in np.flatnonzero(ids == 0).tolist()]
        return Encoded(ids, tokens, unknown)

    def encode(self, text: str) -> np.ndarray:
        """Token ids of a text, shape (T,); unknown tokens become id 0 (see ``encode_report``)."""
        return self.encode_report(text).ids

    def token(self, i: int) -> str:
        """The printable text of one token id."""
        return UNK_GLYPH if i == 0 and self.level == "char" else self.tokens[i]

    def decode(self, ids) -> str:
        """Text of a sequence of token ids; unknown ids are shown as U+FFFD or ``<unk>``."""
        return "".join(self.token(int(i)) for i in ids)
