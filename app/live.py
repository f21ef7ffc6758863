"""One generation in progress, driven step by step by the user's buttons.

A :class:`LiveGeneration` wraps a :class:`pixelrnn.Generation`: one that samples
(:func:`pixelrnn.generate`), or one that decodes a compressed file (:func:`pixelrnn.codec.decoding`).
The generation knows the image so far, the order of the sub-pixels and how far it has come; the
live one keeps what only the view needs: the distribution every generated sub-pixel was drawn from
(``n * C * H * W * levels`` floats: 3 MB per 32x32 RGB sample).
The user's controls act on it from different requests (threads), so:

* every advance of the sampler happens under :attr:`lock`, never across a ``yield``;
* a streaming loop (:meth:`play`) runs only while it holds the current *player token*:
  Pause, Step, Finish and Stop take the token away, and the loop returns at its next
  step, freeing its worker; Resume starts a new loop with a new token.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import torch

import pixelrnn

#: At most this many frames per second are streamed; faster generation skips frames.
MAX_FPS = 12.0

_tokens = itertools.count(1)


class LiveGeneration:
    """A :class:`pixelrnn.Generation` of ``n`` images (samples, completions or a decoded file), advanced on demand."""

    def __init__(self, generation: pixelrnn.Generation, rate: float = 50.0):
        self.generation = generation
        self.model = generation.model
        #: Images generated side by side.
        self.n = len(generation.image)
        #: ``BoolTensor[H, W]``: the pixels to generate.
        self.unknown = self.generation.unknown.cpu()
        #: ``Tensor[n, C, H, W, levels]``: the distribution each generated sub-pixel was drawn from.
        self.probs = torch.zeros(*generation.image.shape, self.model.levels)
        #: Sub-pixels generated so far.
        self.count = 0
        #: ``(c, i, j)`` of the last generated sub-pixel, ``None`` before the first.
        self.position: tuple[int, int, int] | None = None
        #: Pixels per second while playing; ``math.inf`` runs flat out.
        self.rate = rate
        self.stopped = False
        #: Why the generation failed (a decoded file turned out damaged), ``None`` while it has not.
        self.error: str | None = None
        self.lock = threading.Lock()
        self._player = 0
        self._wake = threading.Event()

    # ------------------------------------------------------------------ progress
    @property
    def total(self) -> int:
        """Sub-pixels to generate in all."""
        return self.generation.total

    @property
    def finished(self) -> bool:
        return self.count >= self.total

    @property
    def image(self) -> torch.Tensor:
        """``LongTensor[n, C, H, W]``: known pixels, and generated ones as they come."""
        return self.generation.image.cpu()

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
    def _advance_one(self) -> bool:
        """Draw one sub-pixel (caller holds :attr:`lock`); False when nothing is left."""
        if self.stopped or self.finished:
            return False
        try:
            step = next(self.generation)
        except ValueError as error:  # a decoding meets damaged data: the run ends, and says why
            self.error, self.stopped = str(error), True
            return False
        c, i, j = step.position
        self.probs[:, c, i, j] = step.probs.float().cpu()
        self.count = step.index + 1
        self.position = step.position
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
    def new_player(self) -> int:
        """A token for :meth:`play`; any earlier player stops at its next step."""
        self._wake.clear()
        self._player = next(_tokens)
        return self._player

    def pause(self) -> None:
        """Stop the current player (if any) at its next step, waking it if it waits for its pace."""
        self._player = 0
        self._wake.set()

    def stop(self) -> None:
        """End this generation for good; what was generated stays viewable."""
        self.pause()
        with self.lock:
            self.stopped = True
            self.generation.close()

    def play(self, token: int) -> Iterator[None]:
        """Advance at :attr:`rate` pixels per second, yielding whenever a frame is due.

        Frames come at most :data:`MAX_FPS` times per second: when the model is slower than
        the rate, or showing a frame takes long, several sub-pixels are drawn per frame.
        Returns (after a last frame) when done, or when ``token`` is no longer the player.
        """
        started, taken, rate = time.monotonic(), 0, self.rate
        next_frame = 0.0
        while self._player == token:
            if self.rate != rate:  # the speed slider moved: keep the new pace from now on
                started, taken, rate = time.monotonic(), 0, self.rate
            ahead = taken / (rate * self.model.colors) - (time.monotonic() - started)
            if ahead > 0:
                self._wake.wait(ahead)
                continue
            with self.lock:
                if self._player != token or not self._advance_one():
                    break
            taken += 1
            if time.monotonic() >= next_frame:
                next_frame = time.monotonic() + 1.0 / MAX_FPS
                yield
        yield
