"""The model shelf: every model a session can look at, and the one every page shows.

Built-in checkpoints, the model trained here and its snapshots, uploads, and the scaled and
untrained copies the BPTT page makes. Each ``ModelEntry`` carries typed ``rnn.ModelMeta``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from rnn import RNN, CheckpointError, ModelMeta, Vocab, import_pytorch, load_checkpoint
from rnn.analysis import scaled_model, untrained_model

from .limits import MAX_HIDDEN, MAX_UPLOADS, MAX_VOCAB, check_checkpoint_size

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"


@dataclass
class ModelEntry:
    """A model with its vocabulary and where it came from."""

    key: str  # short id, used in the URL (?model=key)
    label: str  # what the model picker shows
    model: RNN
    vocab: Vocab
    meta: ModelMeta = field(default_factory=ModelMeta)
    source: str = "built-in"  # built-in | trained | snapshot | upload | scaled | untrained | shared
    base_key: str | None = None  # a scaled copy: the key of the model it was made from
    scale: float = 1.0  # a scaled copy: the factor on W_h

    @property
    def description(self) -> str:
        return self.meta.description


def builtin_keys(models_dir: Path | None = None) -> list[str]:
    """Names of the checkpoints shipped in ``models/`` (english first)."""
    keys = sorted(p.stem for p in (models_dir or MODELS_DIR).glob("*.npz"))
    return sorted(keys, key=lambda k: k != "english")


def load_builtin(key: str, models_dir: Path | None = None) -> ModelEntry:
    model, vocab, meta = load_checkpoint((models_dir or MODELS_DIR) / f"{key}.npz")
    info = ModelMeta.from_dict(meta)
    return ModelEntry(key, info.title or key, model, vocab, info, "built-in")


def entry_from_upload(name: str, data: bytes, vocab_json: bytes | None = None) -> ModelEntry:
    """A model from uploaded bytes: a checkpoint (.npz), or a PyTorch nn.RNN saved as
    .safetensors (``vocab_json``: its vocabulary as a JSON list, when the file's metadata has
    none). Raises CheckpointError with a plain message."""
    check_checkpoint_size(data)
    stem = Path(name).stem[:40] or "upload"
    if Path(name).suffix.lower() == ".safetensors":
        if vocab_json is not None:
            check_checkpoint_size(vocab_json)
        model, vocab, meta = import_pytorch(data, vocab_json)
        if model.hidden_size > MAX_HIDDEN or vocab.size > MAX_VOCAB:
            raise CheckpointError(
                f"This model has {model.hidden_size} hidden neurons and {vocab.size} tokens; this "
                f"server shows models of at most {MAX_HIDDEN} neurons and {MAX_VOCAB} tokens.")
        info = ModelMeta(title=f"PyTorch: {stem}", description=f"{meta['note'].capitalize()}.")
        return ModelEntry(f"upload-{stem}", f"PyTorch: {stem}", model, vocab, info, "upload")
    model, vocab, meta = load_checkpoint(data, max_hidden=MAX_HIDDEN, max_vocab=MAX_VOCAB)
    return ModelEntry(f"upload-{stem}", f"Uploaded: {stem}", model, vocab,
                      ModelMeta.from_dict(meta), "upload")


class Shelf:
    """This session's models by key, and the key of the one the pages show."""

    def __init__(self, entries: dict[str, ModelEntry] | None = None) -> None:
        self.entries: dict[str, ModelEntry] = dict(entries or {})
        self._current: str | None = None

    @classmethod
    def with_builtins(cls, models_dir: Path | None = None) -> Shelf:
        return cls({k: load_builtin(k, models_dir) for k in builtin_keys(models_dir)})

    def __contains__(self, key: object) -> bool:
        return key in self.entries

    def __getitem__(self, key: str) -> ModelEntry:
        return self.entries[key]

    def __len__(self) -> int:
        return len(self.entries)

    def keys(self) -> list[str]:
        return list(self.entries)

    @property
    def current_key(self) -> str | None:
        """The model the pages show: the one last chosen, else the first (None: none at all)."""
        if self._current not in self.entries:
            self._current = next(iter(self.entries), None)
        return self._current

    @property
    def current(self) -> ModelEntry | None:
        key = self.current_key
        return None if key is None else self.entries[key]

    def add(self, entry: ModelEntry, select: bool = True) -> ModelEntry:
        """Add (or replace) a model; by default it becomes the current one. Of the uploads, the
        latest MAX_UPLOADS are kept (the one shown stays)."""
        self.entries[entry.key] = entry
        if select:
            self._current = entry.key
        uploads = [k for k, e in self.entries.items() if e.source == "upload"]  # oldest first
        spare = [k for k in uploads if k not in (entry.key, self._current)]
        for k in spare[:max(0, len(uploads) - MAX_UPLOADS)]:
            del self.entries[k]
        return entry

    def select(self, key: str) -> bool:
        """Make ``key`` the current model; False (nothing changes) if there is no such model."""
        if key not in self.entries:
            return False
        self._current = key
        return True

    # -- the BPTT page's what-ifs ---------------------------------------------------------------

    def base_of(self, entry: ModelEntry) -> ModelEntry:
        """The model a scaled copy was made from (the entry itself if it is not a scaled copy)."""
        base = self.entries.get(entry.base_key or "") if entry.source == "scaled" else None
        return base or entry

    def use_scale(self, base: ModelEntry, scale: float) -> ModelEntry:
        """Make current the base model (scale 1) or a copy of it with W_h times ``scale``.

        One scaled copy is kept per model, so the model lists stay short.
        """
        if scale == 1.0:
            self.select(base.key)
            return base
        key = f"{base.key}-x{scale:g}"
        if key not in self.entries:
            for k in [k for k, e in self.entries.items()
                      if e.source == "scaled" and e.base_key == base.key]:
                del self.entries[k]
            meta = replace(base.meta, description=f"{base.label} with W_h multiplied by "
                                                  f"{scale:g}.")
            self.add(ModelEntry(key, f"{base.label} × {scale:g} W_h",
                                scaled_model(base.model, scale), base.vocab, meta, "scaled",
                                base_key=base.key, scale=scale))
        self.select(key)
        return self.entries[key]

    def add_untrained(self, like: ModelEntry) -> ModelEntry:
        """An untrained model shaped like ``like`` (its base, if scaled), made current."""
        like = self.base_of(like)
        H, V = like.model.hidden_size, like.model.vocab_size
        meta = ModelMeta(description=f"Untrained: weights drawn from N(0, 1/{H}), spectral "
                                     "radius near 1.", corpus=like.meta.corpus)
        return self.add(ModelEntry(f"untrained-{like.key}", f"Untrained, shaped like {like.label}",
                                   untrained_model(V, H, seed=0, activation=like.model.activation),
                                   like.vocab, meta, "untrained"))
