"""The shared-model store: frozen models on disk, each an ordinary checkpoint named by its hash.

"Share" writes the checkpoint's bytes to ``<folder>/<sha256 hex>.npz``; a link carries the hex.
Opening a link reads the file back, checks its hash again (a file changed on disk is refused)
and opens it with ``rnn.load_checkpoint``, the loader uploads go through, which never unpickles.

Several app replicas may share one folder: a file is written to a temporary name in the folder
and renamed into place (atomic on one file system), so a reader sees the whole file or none.
The size cap is checked by each writer against what is on disk, so replicas writing at the same
moment may pass it by one file each. Entries expire ``max_age_s`` after they were (last) shared.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rnn import CheckpointError, RNNError, load_checkpoint

DIGEST = re.compile(r"[0-9a-f]{64}")  # sha256, lower-case hex: the only names ever opened
MAX_ENTRY_BYTES = 20 * 2**20  # one shared model; the checkpoint upload limit
TEMP_PREFIX = ".incoming-"
TEMP_MAX_AGE_S = 3600.0  # a temporary file this old was left by a writer that died


class StoreError(RNNError):
    """A shared model that cannot be stored or opened; the message is for the user."""


def digest_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ModelStore:
    """A folder of shared checkpoints with a size cap and an expiry."""

    folder: Path
    max_bytes: int  # all entries together
    max_age_s: float  # an entry expires this long after it was shared

    @classmethod
    def from_settings(cls, settings) -> ModelStore:
        """The store a ``session.settings.Settings`` describes."""
        return cls(Path(settings.store_dir), int(settings.store_max_mb * 2**20),
                   settings.store_days * 86400.0)

    def path_of(self, digest: str) -> Path:
        """The file of a digest; StoreError unless the digest is 64 lower-case hex digits."""
        if not isinstance(digest, str) or not DIGEST.fullmatch(digest):
            raise StoreError("This link does not name a shared model (it should end in 64 "
                             "hexadecimal digits). Check that it was copied whole.")
        return self.folder / f"{digest}.npz"

    def put(self, data: bytes, now: float | None = None) -> str:
        """Store checkpoint bytes (checked by opening them first); returns their sha256 hex."""
        if len(data) > MAX_ENTRY_BYTES:
            raise StoreError(f"This model is over {MAX_ENTRY_BYTES // 2**20} MB and cannot be "
                             "shared; download it instead.")
        load_checkpoint(data)  # only a checkpoint that opens is ever stored
        digest = digest_of(data)
        path = self.path_of(digest)
        now = time.time() if now is None else now
        self.folder.mkdir(parents=True, exist_ok=True)
        if path.is_file() and not path.is_symlink():
            os.utime(path, (now, now))  # shared again: the link lasts from now
            return digest
        self.sweep(now)
        used = self.used_bytes()
        if used + len(data) > self.max_bytes:
            raise StoreError(
                f"The store of shared models is full ({used / 2**20:.1f} of "
                f"{self.max_bytes / 2**20:.0f} MB). Shared models expire after "
                f"{self.max_age_s / 86400:g} days; until then, download the model instead.")
        fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.utime(tmp, (now, now))
            os.replace(tmp, path)  # atomic: readers see the whole file or none
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return digest

    def get(self, digest: str, now: float | None = None) -> bytes:
        """The verified bytes of a shared model; StoreError if missing, expired or altered."""
        path = self.path_of(digest)
        now = time.time() if now is None else now
        missing = StoreError("There is no shared model for this link here: it may have "
                             f"expired (links last {self.max_age_s / 86400:g} days).")
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError:  # absent, or a symbolic link planted in the folder
            raise missing from None
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if now - st.st_mtime > self.max_age_s:
                path.unlink(missing_ok=True)
                raise missing
            if st.st_size > MAX_ENTRY_BYTES:
                raise StoreError("The stored file for this link is too large to open.")
            data = f.read(MAX_ENTRY_BYTES + 1)
        if not hmac.compare_digest(digest_of(data), digest):
            raise StoreError("The stored file for this link does not match the link (it was "
                             "changed on the server), so it is not opened.")
        return data

    def load(self, digest: str, now: float | None = None):
        """``(model, vocab, meta)`` of a shared model, through the checkpoint loader."""
        data = self.get(digest, now)
        try:
            return load_checkpoint(data)
        except CheckpointError as e:
            raise StoreError(f"The shared model cannot be opened: {e}") from e

    def entries(self) -> list[os.DirEntry]:
        if not self.folder.is_dir():
            return []
        with os.scandir(self.folder) as it:
            return [e for e in it if e.name.endswith(".npz")
                    and DIGEST.fullmatch(e.name[:-4]) and e.is_file(follow_symlinks=False)]

    def used_bytes(self) -> int:
        return sum(e.stat(follow_symlinks=False).st_size for e in self.entries())

    def sweep(self, now: float | None = None) -> int:
        """Delete expired entries and abandoned temporary files; returns how many went."""
        now = time.time() if now is None else now
        gone = 0
        for e in self.entries():
            if now - e.stat(follow_symlinks=False).st_mtime > self.max_age_s:
                Path(e.path).unlink(missing_ok=True)
                gone += 1
        if self.folder.is_dir():
            for p in self.folder.glob(f"{TEMP_PREFIX}*"):
                if now - p.stat().st_mtime > TEMP_MAX_AGE_S:
                    p.unlink(missing_ok=True)
        return gone
