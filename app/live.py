"""One user's generation in progress, driven step by step by the user's buttons.

A :class:`LiveGeneration` shows rows of a :class:`pixelrnn.Generation`: one that samples
(:func:`pixelrnn.generate_many`, shared with others who started at the same time, see
:mod:`app.batching`), or one that decodes a compressed file (:func:`pixelrnn.codec.decoding`).
The generation knows the image, the order of the sub-pixels and how far it has drawn; the live
one keeps what only this user's view needs: how far they have come (:attr:`~LiveGeneration.count`,
never past what is drawn, behind it when another user's run is ahead), and the distribution every
sub-pixel of their rows was drawn from (``n * C * H * W * levels`` floats: 3 MB per 32x32 RGB sample).
The user's controls act on it from different requests (threads), so:

* every advance happens under :attr:`~LiveGeneration.lock`, never across a ``yield``;
* a streaming loop (:meth:`~LiveGeneration.play`) runs only while it holds the current *player
  token*: Pause, Step, Finish and Stop take the token away, and the loop returns at its next
  step, freeing its worker; Resume starts a new loop with a new token.

A browser shows frames more slowly than a server can send them when either is busy, and
frames it has not shown yet pile up: Pause then seems to take seconds, and to land far past
the sub-pixel that was on screen. So a viewer that confirms each frame it shows
(:meth:`~LiveGeneration.acknowledge`) paces the run: the next frame waits for that confirmation,
and the run goes at most :meth:`~LiveGeneration.lead` sub-pixels (:data:`VIEW_LAG` seconds' worth)
past the frame on screen; Pause goes back to that frame (:meth:`~LiveGeneration.pause`). A client
that never confirms (the HTTP API) gets frames at most :data:`MAX_FPS` times a second. Either way
a frame costs the server time (the picture, the charts, gradio's processing and sending) that
several users' frames would take from the sampling: frames take at most :data:`FRAME_SHARE` of a
run's time, measured, so that a busy server sends fewer.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterator

import torch

import pixelrnn

from .batching import SharedGeneration

#: At most this many frames per second are streamed; faster generation skips frames.
MAX_FPS = 12.0
#: At most this share of a run's time goes to its frames: a frame that took ``t`` seconds from the
#: moment it was handed out to the moment the stream asked for the next is followed by at least
#: ``t * (1 - FRAME_SHARE) / FRAME_SHARE`` seconds of drawing. Under load frames take longer, so come less often.
FRAME_SHARE = 0.25
#: However long frames take, a frame is due after at most this many seconds of drawing: one slow frame (the
#: server descheduled for a moment) would otherwise hold the next back for three times as long.
MAX_FRAME_WAIT = 1.0
#: How far, in seconds of drawing at the chosen speed, the run may go ahead of the frame on screen:
#: what Pause can land past the picture the user saw (plus the click's way to the server).
VIEW_LAG = 0.25
#: A frame the viewer has not confirmed after this many seconds is taken as lost, and the run goes on.
ACK_TIMEOUT = 2.0

_tokens = itertools.count(1)
_ids = itertools.count(1)


class LiveGeneration:
    """``n`` images (samples, completions or a decoded file): rows ``rows`` of a shared generation, advanced on demand.

    ``generation``: a :class:`~app.batching.SharedGeneration`, or a :class:`pixelrnn.Generation` of this run alone;
    ``rows``: this run's rows of it (``None``: all).
    """

    def __init__(self, generation: SharedGeneration | pixelrnn.Generation, rows: slice | None = None, rate: float = 50.0):
        self.shared = generation if isinstance(generation, SharedGeneration) else SharedGeneration(generation)
        self.generation = self.shared.generation
        self.model = self.generation.model
        self.rows = rows if rows is not None else slice(0, len(self.generation.image))
        #: Images generated side by side.
        self.n = self.rows.stop - self.rows.start
        #: Tells this generation's frames from those of the one it replaced.
        self.id = next(_ids)
        #: ``BoolTensor[H, W]``: the pixels to generate.
        self.unknown = self.generation.unknown.cpu()
        #: ``Tensor[n, C, H, W, levels]``: the distribution each generated sub-pixel was drawn from.
        self.probs = torch.zeros(self.n, *self.model.image_shape, self.model.levels)
        #: Sub-pixels of this run so far (the shared generation may have drawn more, for another user).
        self.count = 0
        self.stopped = False
        #: Why the generation failed (a decoded file turned out damaged), ``None`` while it has not.
        self.error: str | None = None
        self.lock = threading.Lock()
        self._rate = rate
        self._player = 0
        #: Notified whenever the player should look again: paused, new speed, a frame confirmed.
        self._changed = threading.Condition()
        #: Sub-pixels in the last frame :meth:`play` handed out, and when.
        self._sent, self._sent_at = 0, 0.0
        #: Sub-pixels in the last frame the viewer confirmed; ``None`` while no viewer confirms frames.
        self._shown: int | None = None
        self.shared.attach(self)

    # ------------------------------------------------------------------ progress
    @property
    def total(self) -> int:
        """Sub-pixels to generate in all."""
        return self.generation.total

    @property
    def finished(self) -> bool:
        return self.count >= self.total

    @property
    def active(self) -> bool:
        """Whether this run may still need the shared generation to draw: neither stopped nor finished."""
        return not (self.stopped or self.finished)

    @property
    def position(self) -> tuple[int, int, int] | None:
        """``(c, i, j)`` of the last sub-pixel of this run, ``None`` before the first."""
        return tuple(self.generation.order[self.count - 1].tolist()) if self.count else None

    @property
    def playing(self) -> bool:
        """Whether a :meth:`play` loop holds the player token."""
        return self._player != 0

    @property
    def image(self) -> torch.Tensor:
        """``LongTensor[n, C, H, W]``: known pixels and the sub-pixels generated so far, 0 where nothing is yet."""
        return self.generation.image[self.rows].cpu() * (self.done | ~self.unknown[None]).long()

    @property
    def done(self) -> torch.Tensor:
        """``BoolTensor[C, H, W]``: the sub-pixels generated so far."""
        done = torch.zeros(self.model.image_shape, dtype=torch.bool)
        c, i, j = self.generation.order[: self.count].unbind(1)
        done[c, i, j] = True
        return done

    def next_position(self) -> tuple[int, int, int] | None:
        """``(c, i, j)`` of the sub-pixel to generate next, ``None`` when done."""
        return None if self.finished else tuple(self.generation.order[self.count].tolist())

    # ------------------------------------------------------------------ advancing
    def record(self, step: pixelrnn.Step) -> None:
        """Keep this run's rows of the distribution of a step the shared generation drew."""
        c, i, j = step.position
        self.probs[:, c, i, j] = step.probs[self.rows].float().cpu()

    def _advance_one(self) -> bool:
        """One more sub-pixel, drawn if no other run drew it yet (caller holds :attr:`lock`); False when nothing is left."""
        if not self.active:
            return False
        if not self.shared.draw(self.count + 1):
            self.error, self.stopped = self.shared.error, True
            return False
        self.count += 1
        return True

    def _advance_while(self, same) -> int:
        """Draw sub-pixels while ``same(next, first)`` holds for the next one; returns how many."""
        first = self.next_position()
        taken = 0
        with self.lock:
            while (nxt := self.next_position()) is not None and same(nxt, first) and self._advance_one():
                taken += 1
        return taken

    def step_pixel(self) -> int:
        """Generate every colour of the next pixel."""
        self.pause()
        return self._advance_while(lambda nxt, first: nxt[1:] == first[1:])

    def step_row(self) -> int:
        """Generate up to the end of the current row (in generation order)."""
        self.pause()
        return self._advance_while(lambda nxt, first: nxt[1] == first[1])

    def finish(self) -> int:
        """Generate everything that is left, without showing it."""
        self.pause()
        return self._advance_while(lambda nxt, first: True)

    # ------------------------------------------------------------------ playing
    @property
    def rate(self) -> float:
        """Pixels per second while playing; ``math.inf`` runs flat out."""
        return self._rate

    @rate.setter
    def rate(self, rate: float) -> None:
        with self._changed:
            self._rate = rate
            self._changed.notify_all()

    def new_player(self) -> int:
        """A token for :meth:`play`; any earlier player stops at its next step."""
        with self._changed:
            self._player = next(_tokens)
            self._changed.notify_all()
            return self._player

    def pause(self) -> None:
        """Stop the current player (if any) at its next step, waking it if it waits.

        A run paused while it plays goes back to the last frame its viewer confirmed (if it confirms
        frames): Pause, Stop and the steps land on the picture the user saw when they clicked, not on the
        frames still on their way to the screen. What was drawn past it stays drawn, and comes again on Resume.
        """
        with self.lock:
            if self._player != 0 and self._shown is not None and self._shown < self.count:
                self.count = self._shown
            self._player = 0
        with self._changed:
            self._changed.notify_all()

    def stop(self) -> None:
        """End this generation for good; what was generated stays viewable."""
        self.pause()
        with self.lock:
            self.stopped = True
        self.shared.release()

    def acknowledge(self, count: int) -> None:
        """The viewer shows the frame of ``count`` sub-pixels: from now on it paces :meth:`play`."""
        with self._changed:
            self._shown = count
            self._changed.notify_all()

    def lead(self) -> int:
        """How many sub-pixels the sampler may draw past a frame the viewer has not confirmed yet.

        :data:`VIEW_LAG` seconds' worth at the current rate: at least a pixel, at most a row (flat out).
        """
        c, _, w = self.model.image_shape
        return int(min(max(self._rate * c * VIEW_LAG, c), w * c))

    def _step_seconds(self) -> float:
        """Time per sub-pixel at the current rate."""
        return 0.0 if math.isinf(self._rate) else 1.0 / (self._rate * self.model.colors)

    def _unconfirmed(self, now: float) -> bool:
        """Whether the viewer has yet to confirm the last frame (and it is not taken as lost)."""
        return self._shown is not None and self._shown < self._sent and now - self._sent_at < ACK_TIMEOUT

    def _wait(self, last_step: float) -> float:
        """Seconds until the next sub-pixel may be drawn, the previous one drawn at ``last_step``."""
        now = time.monotonic()
        if self._unconfirmed(now) and self.count - self._sent >= self.lead():
            return self._sent_at + ACK_TIMEOUT - now
        return last_step + self._step_seconds() - now

    @staticmethod
    def _next_frame(sent: float) -> float:
        """When the frame after the one handed out at ``sent`` may go, the stream having just asked for it.

        At most :data:`MAX_FPS` a second, the frame's cost so far (building, processing, sending)
        at most :data:`FRAME_SHARE` of the time, and at least one frame per :data:`MAX_FRAME_WAIT`.
        """
        now = time.monotonic()
        wait = min((now - sent) * (1 - FRAME_SHARE) / FRAME_SHARE, MAX_FRAME_WAIT)
        return max(sent + 1.0 / MAX_FPS, now + wait)

    def play(self, token: int) -> Iterator[None]:
        """Advance at :attr:`rate` pixels per second, yielding whenever a frame is due.

        Yields once at the start, then at most :data:`MAX_FPS` times per second, as often as
        :data:`FRAME_SHARE` allows, and never before the viewer (if it confirms frames) has shown
        the previous one: when the model or the viewer is slower than the rate, several sub-pixels
        go into one frame. A step that comes late is not made up for by rushing the next ones.
        Returns, without a last frame, when done or when ``token`` is no longer the player; done,
        it gives the token back (not :attr:`playing`).
        """
        now = time.monotonic()
        self._sent, self._sent_at = self.count, now
        last_step = now
        try:
            yield
            next_frame = self._next_frame(now)
            while True:
                with self._changed:
                    while self._player == token and (wait := self._wait(last_step)) > 0:
                        self._changed.wait(wait)
                with self.lock:
                    if self._player != token or not self._advance_one():
                        return
                now = time.monotonic()
                last_step = max(last_step + self._step_seconds(), now - 1.0 / MAX_FPS)
                if now >= next_frame and not self._unconfirmed(now):
                    self._sent, self._sent_at = self.count, now
                    yield
                    next_frame = self._next_frame(now)
        finally:
            with self._changed:
                if self._player == token:
                    self._player = 0
