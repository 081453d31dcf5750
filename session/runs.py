"""Training runs that outlive a page: a process-wide registry keyed by unguessable tokens.

The one deliberate piece of state shared by all sessions of a server. A run belongs to a
token of 192 random bits (``secrets.token_urlsafe``) that only its own session sees, in its
URL: a reload or a new tab with that URL reattaches to the run. Nothing lists the runs; a
token that is malformed, guessed or no longer kept finds nothing (``attach`` returns None), and
tokens are compared in constant time.

Bounds (``RunLimits``, from ``session.settings``):
  * at most ``max_runs`` runs are kept, whose estimated memory stays under ``max_bytes``.
    Every visitor of Train live gets a run, so when a new one does not fit, runs that never
    trained a step and nobody looked at for ``EMPTY_GRACE_S`` make room first (nothing is
    lost with them: the visitor's page makes a fresh one); beyond that a new run is refused
    with a plain message;
  * a run nobody looked at (``touch``) for ``idle_s`` is released;
  * at most ``max_training`` runs train at once, each on its own thread. Others wait in line
    and take turns: a run gives way after ``SLICE_S`` of training when another waits. A run
    asked to play while ``max_waiting`` already wait is paused, and says so;
  * a playing run nobody looked at for ``leave_s`` is paused.

Threads. A trainer thread exists only while its run trains: it calls ``chunk(run)`` (about a
quarter second of training under the run's lock) until the run pauses (by the user, by
divergence, at its step target, after being left, or to give way), is released, or the
registry shuts down. While any run is kept, one more thread (the janitor) sweeps every
``sweep_every_s``, so runs are released even when nobody opens the app; it ends with the last
run. The registry's lock is never held while training or while waiting for a
chunk, so one run never delays another's page. Pages come first: while a page is being drawn
for someone (``foreground``), trainers wait before their next chunk (at most ``give_way_s``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import re
import secrets
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import numpy as np

from rnn import RNNError

TOKEN_BYTES = 24  # 192 random bits, 32 URL-safe characters
TOKEN = re.compile(r"[A-Za-z0-9_-]{32}")
SLICE_S = 5.0  # a training run gives way to a waiting one after this long
YIELD_S = 0.005  # pause between chunks, so a page waiting for the run's lock gets it
WAITING_PER_TRAINER = 4  # runs allowed to wait in line, per training place
EMPTY_GRACE_S = 60.0  # a run with no step, unseen this long, gives its room to a new run
GIVE_WAY_MAX_S = 1.0  # before a chunk, a trainer waits at most this long for pages being drawn


class Why(StrEnum):
    """Why a run is paused."""

    USER = "user"  # Pause, or never played
    LEFT = "left"  # nobody looked at it for RunLimits.leave_s
    DIVERGED = "diverged"
    TARGET = "target"  # reached its step target
    CAP = "cap"  # the server had no place for it to train or wait


class State(StrEnum):
    PAUSED = "paused"
    WAITING = "waiting"  # playing, in line for a place to train
    TRAINING = "training"


@dataclass(frozen=True)
class RunLimits:
    """The bounds of one server's registry (README, "Limits")."""

    max_runs: int = 64
    max_training: int = 2
    max_bytes: int = 512 * 2**20
    idle_s: float = 30 * 60.0
    leave_s: float = 10 * 60.0

    @property
    def max_waiting(self) -> int:
        return WAITING_PER_TRAINER * self.max_training

    @classmethod
    def from_settings(cls, s) -> RunLimits:
        """The limits a ``session.settings.Settings`` describes."""
        return cls(s.max_runs, s.max_training, int(s.runs_max_mb * 2**20),
                   s.run_idle_min * 60.0, s.run_leave_min * 60.0)


@dataclass(frozen=True)
class Status:
    """What a page says about a run."""

    state: State
    why: Why | None  # set when paused
    message: str  # one plain sentence (empty while training)
    place: int | None = None  # 1-based place in line while waiting


class RunsFull(RNNError):
    """No room for another run on this server."""


@dataclass(eq=False)
class _Slot:
    token: str
    run: Any
    seen: float  # clock time of the last touch
    nbytes: int  # estimated memory of the run
    state: State = State.PAUSED
    why: Why | None = Why.USER
    since: float = 0.0  # when it began training (its slice) or waiting
    thread: threading.Thread | None = None


def at_once(n: int) -> str:
    """'at most 2 runs train at once', 'at most 1 run trains at once'."""
    return f"at most {n} run{'s train' if n != 1 else ' trains'} at once"


def why_stopped(run) -> Why:
    """Why a ``TrainRun`` stopped playing on its own (divergence or its target) or was paused."""
    if getattr(run.trainer, "diverged", None):
        return Why.DIVERGED
    if run.target is not None and run.steps >= run.target:
        return Why.TARGET
    return Why.USER


def deep_nbytes(obj, _seen: set | None = None, _depth: int = 0) -> int:
    """Estimated bytes held by an object graph: arrays, strings and the containers of both."""
    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 12:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None or id(obj.base) not in seen else 0
    if isinstance(obj, (str, bytes, bytearray, int, float, bool, type(None))):
        return sys.getsizeof(obj)
    if isinstance(obj, list) and len(obj) > 16 and isinstance(obj[0], (int, float)):
        return sys.getsizeof(obj) + len(obj) * sys.getsizeof(obj[0])  # a curve: O(1), not O(n)
    if isinstance(obj, dict):
        items = list(obj.values())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        items = list(obj)
    elif hasattr(obj, "__dict__") and not isinstance(obj, type):
        items = list(vars(obj).values())
    else:
        return 0  # locks, functions, modules ...
    return sys.getsizeof(obj) + sum(deep_nbytes(x, seen, _depth + 1) for x in items)


def _token_key(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


class RunRegistry:
    """Runs by token, with the bounds of ``RunLimits`` (see the module docstring).

    Parameters
    ----------
    limits : the bounds
    chunk : trains a run for a short while if it plays (``session.training.play_chunk``)
    pause : stops a run and waits for a chunk in flight (``session.training.pause``)
    stopped : why a run stopped playing by itself (default ``why_stopped``)
    size : estimated bytes of a run (default ``deep_nbytes``)
    clock : seconds, monotonic (tests pass a fake one)
    sweep_every_s : how often the janitor thread looks for runs to release or pause
    give_way_s : how long a trainer waits at most, before a chunk, for pages being drawn
    """

    def __init__(self, limits: RunLimits, *, chunk: Callable[[Any], Any],
                 pause: Callable[[Any], None], stopped: Callable[[Any], Why] = why_stopped,
                 size: Callable[[Any], int] = deep_nbytes,
                 clock: Callable[[], float] = time.monotonic,
                 sweep_every_s: float = 30.0, give_way_s: float = GIVE_WAY_MAX_S) -> None:
        self.limits = limits
        self._give_way_s = give_way_s
        self._chunk, self._pause, self._stopped, self._size = chunk, pause, stopped, size
        self._clock = clock
        self._lock = threading.Lock()
        self._slots: dict[bytes, _Slot] = {}
        self._line: list[_Slot] = []  # waiting runs, first in line first
        self._closing = False
        self._sweep_every_s = sweep_every_s
        self._janitor: threading.Thread | None = None
        self._wake = threading.Event()  # ends the janitor's wait at shutdown
        self._drawing = 0  # pages being drawn right now (foreground)
        self._quiet = threading.Event()  # set while none is
        self._quiet.set()

    # -- owning a run ----------------------------------------------------------------------

    def create(self, run) -> str:
        """Keep a new run; returns its token. RunsFull when the server holds too much."""
        nbytes = self._size(run)
        with self._lock:
            self._sweep()
            self._check_room(nbytes)
            token = secrets.token_urlsafe(TOKEN_BYTES)
            self._slots[_token_key(token)] = _Slot(token, run, self._clock(), nbytes)
            if self._janitor is None:
                self._janitor = threading.Thread(target=self._sweeping, daemon=True,
                                                 name="rnn-runs-janitor")
                self._janitor.start()
        return token

    def replace(self, token: str, run) -> bool:
        """Put a new run under an existing token (Reset, new settings); False if not kept.
        The old run is paused first. RunsFull when the new run does not fit."""
        slot = self._find(token)
        if slot is None:
            return False
        self.pause(token)
        nbytes = self._size(run)
        with self._lock:
            self._check_room(nbytes - slot.nbytes)
            slot.run, slot.nbytes, slot.why = run, nbytes, Why.USER
            slot.seen = self._clock()
        return True

    def attach(self, token: str | None):
        """The run of a token (and a touch), or None when no run is kept under it."""
        slot = self._find(token)
        if slot is None:
            return None
        slot.seen = self._clock()
        return slot.run

    def touch(self, token: str | None) -> None:
        """Someone is looking at this run (any page of its session)."""
        self.attach(token)

    def release(self, token: str) -> None:
        """Forget a run now (its trainer thread ends within one chunk)."""
        slot = self._find(token)
        if slot is not None:
            self.pause(token)
            with self._lock:
                self._drop(slot)

    # -- playing ---------------------------------------------------------------------------

    def play(self, token: str) -> Status | None:
        """Train the run: at once if there is a place, else in line, else paused (CAP)."""
        slot = self._find(token)
        if slot is None:
            return None
        with self._lock:
            slot.seen = self._clock()
            if slot.state == State.PAUSED and not getattr(slot.run.trainer, "diverged", None):
                slot.run.playing = True
                slot.why = None
                if self._training() < self.limits.max_training and not self._line:
                    self._start(slot)
                elif len(self._line) < self.limits.max_waiting:
                    slot.state, slot.since = State.WAITING, self._clock()
                    self._line.append(slot)
                else:
                    slot.run.playing = False
                    slot.why = Why.CAP
        return self.status(token)

    def pause(self, token: str, why: Why = Why.USER) -> None:
        """Stop the run and wait for a chunk in flight: after this the run shows one state."""
        slot = self._find(token)
        if slot is None:
            return
        with self._lock:
            self._stop(slot, why)
        self._pause(slot.run)

    def status(self, token: str | None) -> Status | None:
        """What the run is doing and, if paused, why; None when no run is kept under it."""
        slot = self._find(token)
        if slot is None:
            return None
        with self._lock:
            if slot.state == State.PAUSED and slot.why is None:
                slot.why = self._stopped(slot.run)  # stopped by itself, thread not yet ended
            if slot.state == State.PAUSED and getattr(slot.run.trainer, "diverged", None):
                slot.why = Why.DIVERGED
            place = self._line.index(slot) + 1 if slot in self._line else None
            return Status(slot.state, slot.why if slot.state == State.PAUSED else None,
                          self._message(slot, place), place)

    @contextlib.contextmanager
    def foreground(self):
        """Someone waits for a page to be drawn: trainer threads hold back meanwhile.

        app.py draws every page inside this. Trainer threads and pages share one interpreter
        (one lock for Python code), so an edit in the Explorer took turns with every trainer;
        instead a trainer waits before its next chunk until no page is being drawn, at most
        ``give_way_s`` per chunk, so training goes on between clicks and never stops for long,
        however many people click. Timed redraws of a page's parts (fragments) are not drawn
        through app.py and do not hold training back.
        """
        with self._lock:
            self._drawing += 1
            self._quiet.clear()
        try:
            yield
        finally:
            with self._lock:
                self._drawing -= 1
                if not self._drawing:
                    self._quiet.set()

    def stats(self) -> dict[str, int]:
        """Counts for benchmarks and logs (never tokens)."""
        with self._lock:
            return {"runs": len(self._slots), "training": self._training(),
                    "waiting": len(self._line),
                    "bytes": sum(s.nbytes for s in self._slots.values()),
                    "drawing": self._drawing,
                    "threads": sum(s.thread is not None for s in self._slots.values())
                    + (self._janitor is not None)}

    def sweep(self) -> None:
        """Release runs unseen for ``idle_s`` and pause waiting ones unseen for ``leave_s``."""
        with self._lock:
            self._sweep()

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop every trainer thread (the server is stopping)."""
        with self._lock:
            self._closing = True
            self._wake.set()
            threads = [s.thread for s in self._slots.values() if s.thread is not None]
            threads += [self._janitor] if self._janitor is not None else []
            for slot in list(self._slots.values()):
                self._stop(slot, Why.USER)
        for t in threads:
            t.join(timeout)
        with self._lock:
            self._janitor = None

    # -- inside (callers hold self._lock where noted) --------------------------------------

    def _find(self, token: str | None) -> _Slot | None:
        if not isinstance(token, str) or not TOKEN.fullmatch(token):
            return None
        with self._lock:
            self._sweep()
            slot = self._slots.get(_token_key(token))
        if slot is None or not hmac.compare_digest(slot.token.encode(), token.encode()):
            return None
        return slot

    def _check_room(self, nbytes: int) -> None:  # holds the lock
        if nbytes > 0 and not self._has_room(nbytes):
            self._drop_empty(nbytes)
        if len(self._slots) >= self.limits.max_runs and nbytes > 0:
            raise RunsFull(f"This server already keeps {len(self._slots)} training runs, the "
                           "most it allows. Try again in a few minutes, when an unused run has "
                           "been released.")
        used = sum(s.nbytes for s in self._slots.values())
        if used + nbytes > self.limits.max_bytes:
            raise RunsFull(f"This run would need about {max(nbytes, 0) / 2**20:.0f} MB and "
                           f"the server has {max(self.limits.max_bytes - used, 0) / 2**20:.0f}"
                           " MB left for training runs. Try a smaller corpus or network, or "
                           "come back in a few minutes.")

    def _has_room(self, nbytes: int) -> bool:  # holds the lock
        used = sum(s.nbytes for s in self._slots.values())
        return len(self._slots) < self.limits.max_runs and used + nbytes <= self.limits.max_bytes

    def _drop_empty(self, nbytes: int) -> None:  # holds the lock
        """Release runs that never trained, longest unseen first, until ``nbytes`` fit."""
        now = self._clock()
        empty = sorted((s for s in self._slots.values()
                        if s.state == State.PAUSED and getattr(s.run, "steps", None) == 0
                        and now - s.seen > EMPTY_GRACE_S), key=lambda s: s.seen)
        for slot in empty:
            if self._has_room(nbytes):
                return
            self._drop(slot)

    def _training(self) -> int:  # holds the lock
        return sum(s.state == State.TRAINING for s in self._slots.values())

    def _start(self, slot: _Slot) -> None:  # holds the lock
        slot.state, slot.since = State.TRAINING, self._clock()
        slot.thread = threading.Thread(target=self._work, args=(slot,), daemon=True,
                                       name="rnn-trainer")
        slot.thread.start()

    def _fill(self) -> None:  # holds the lock: give free places to the runs in line
        while (self._line and not self._closing
               and self._training() < self.limits.max_training):
            self._start(self._line.pop(0))

    def _stop(self, slot: _Slot, why: Why) -> None:  # holds the lock
        if slot in self._line:
            self._line.remove(slot)
        if slot.state != State.PAUSED:
            slot.state, slot.why = State.PAUSED, why
        slot.run.playing = False
        self._fill()

    def _drop(self, slot: _Slot) -> None:  # holds the lock
        self._stop(slot, Why.USER)
        self._slots.pop(_token_key(slot.token), None)

    def _sweep(self) -> None:  # holds the lock
        now = self._clock()
        for slot in list(self._slots.values()):
            unseen = now - slot.seen
            if unseen > self.limits.idle_s:
                self._drop(slot)
            elif slot.state != State.PAUSED and unseen > self.limits.leave_s:
                self._stop(slot, Why.LEFT)

    def _sweeping(self) -> None:
        """The janitor: sweeps while runs are kept, then ends."""
        while not self._wake.wait(self._sweep_every_s):
            with self._lock:
                self._sweep()
                if not self._slots:
                    self._janitor = None
                    return

    def _work(self, slot: _Slot) -> None:
        """A trainer thread: chunks while its run trains, then gives its place on."""
        me = threading.current_thread()
        try:
            while True:
                with self._lock:
                    if self._closing or slot.state != State.TRAINING or slot.thread is not me:
                        return
                    self._sweep()  # may pause this run (left) or release it
                    if slot.state != State.TRAINING:
                        return
                    if self._line and self._clock() - slot.since >= SLICE_S:
                        slot.state, slot.since = State.WAITING, self._clock()  # give way
                        self._line.append(slot)
                        return
                self._quiet.wait(self._give_way_s)  # pages being drawn go first
                self._chunk(slot.run)
                time.sleep(YIELD_S)  # a lock is not fair: without this, a page reading the
                # run (under its lock) could wait for many chunks while this thread retakes it
                if not slot.run.playing:  # diverged, reached its target, or was paused
                    with self._lock:
                        if slot.state != State.PAUSED:
                            slot.state, slot.why = State.PAUSED, self._stopped(slot.run)
                    return
        finally:
            nbytes = self._size(slot.run)  # it grew while training (snapshots, samples)
            with self._lock:
                slot.nbytes = nbytes
                if slot.thread is me:
                    slot.thread = None
                self._fill()

    def _message(self, slot: _Slot, place: int | None) -> str:  # holds the lock
        lim = self.limits
        if slot.state == State.TRAINING:
            return ""
        if slot.state == State.WAITING:
            return (f"Waiting for its turn ({place} in line): {at_once(lim.max_training)} "
                    f"on this server, taking turns every {SLICE_S:g} s.")
        return {
            Why.USER: "Paused.",
            Why.LEFT: f"Paused: no page of the app looked at it for {lim.leave_s / 60:g} "
                      "minutes. Press Play to go on.",
            Why.DIVERGED: "Paused: the loss diverged (see below).",
            Why.TARGET: "Paused at its step target.",
            Why.CAP: f"Paused: the server is full ({lim.max_training} training and "
                     f"{lim.max_waiting} waiting). Press Play again in a minute.",
        }[slot.why]
