"""Generations of one model that start together share one sampler: one batched step draws a sub-pixel for every user.

A step at batch 1 is a few dozen tiny tensor operations whose cost is dispatch, not arithmetic,
and Python threads that step side by side mostly wait for each other's turn with the interpreter:
four users sampling a CIFAR-10 image with the Gated PixelCNN in four threads each took about five
times as long as one alone, while one batch of four takes about 1.4 times as long (see the README).
So a start waits :data:`GATHER_SECONDS` for other starts of the same model that fill the same
pixels (every Sample tab run of that model, completions with the same hole), and they become one
:func:`pixelrnn.generate_many`. Each user still has their own run (:class:`app.live.LiveGeneration`),
with their own speed, Pause, Step and Stop: the shared generation is drawn as far as the run
furthest ahead needs, and each run shows its own rows up to its own count.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import torch

import pixelrnn

#: How long a start waits for others to share its sampler with: a fraction of any run, and enough
#: for users who press Generate at the same moment to arrive one after the other (with 0.2 s, four
#: gradio_client users pressing together on the idle machine came as one and three, once in two tries).
GATHER_SECONDS = 0.5
#: A viewer that draws for others goes on drawing this long: viewers that take turns step by step
#: hand the lock and the interpreter around at every sub-pixel (four users in one batch took 13.2 s
#: for what took 10.6-11.9 s in bursts, on the idle 2-core machine).
BURST_SECONDS = 0.02


class SharedGeneration:
    """A :class:`pixelrnn.Generation` that several viewers read, each its own rows, drawn as far as the one furthest ahead needs.

    A viewer (:class:`app.live.LiveGeneration`) registers with :meth:`attach`; every step drawn is
    handed to each attached viewer's ``record(step)``. The generation ends (``close``) once no viewer
    is :attr:`~app.live.LiveGeneration.active` any more.
    """

    def __init__(self, generation: pixelrnn.Generation):
        self.generation = generation
        #: Why the generation failed (a decoded file turned out damaged), ``None`` while it has not.
        self.error: str | None = None
        self.lock = threading.Lock()
        self._viewers: list = []

    def attach(self, viewer) -> None:
        with self.lock:
            self._viewers.append(viewer)

    def draw(self, count: int) -> bool:
        """Draw sub-pixels until ``count`` are drawn; False if the generation ended before (closed, or failed: :attr:`error`).

        With other viewers still going, draws on for :data:`BURST_SECONDS` (or to the end).
        """
        if self.generation.count >= count:  # drawn for another viewer: no need to queue for the lock
            return True
        with self.lock:
            burst_end = time.monotonic() + BURST_SECONDS if sum(v.active for v in self._viewers) > 1 else 0.0
            while self.error is None and self.generation.count < self.generation.total:
                if self.generation.count >= count and time.monotonic() >= burst_end:
                    break
                try:
                    step = next(self.generation)
                except StopIteration:  # closed
                    break
                except ValueError as error:  # a decoding meets damaged data: the run ends there, and says why
                    self.error = str(error)
                    break
                for viewer in self._viewers:
                    viewer.record(step)
            return self.generation.count >= count

    def release(self) -> None:
        """A viewer stopped: end the generation if none is left that needs it."""
        with self.lock:
            if not any(viewer.active for viewer in self._viewers):
                self.generation.close()


@dataclass
class _Gathering:
    """Starts waiting to share one generation: their requests in order, and the generation once it exists."""

    requests: list[pixelrnn.SamplingRequest] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)
    shared: SharedGeneration | None = None
    error: Exception | None = None


class Batcher:
    """Puts starts of one model that fill the same pixels, arriving within ``window`` seconds, into one :class:`SharedGeneration`."""

    def __init__(self, window: float = GATHER_SECONDS):
        self.window = window
        self._open: dict[tuple, _Gathering] = {}
        self._lock = threading.Lock()

    def join(
        self, model: pixelrnn.PixelModel, request: pixelrnn.SamplingRequest, mask: torch.Tensor | None = None
    ) -> tuple[SharedGeneration, slice]:
        """The shared generation ``request`` is part of, and its rows there; blocks until the window closes.

        ``mask``: ``BoolTensor[H, W]``, True where the request's image is to be filled in (``None``:
        a sample from scratch). A request that is wrong by itself raises its ``ValueError`` here,
        without touching the others.
        """
        pixelrnn.generate_many(model, [request], mask)  # checks the request alone
        key = (id(model), None if mask is None else mask.cpu().numpy().tobytes())
        with self._lock:
            gathering = self._open.get(key)
            first = gathering is None
            if first:
                gathering = self._open[key] = _Gathering()
            index = len(gathering.requests)
            gathering.requests.append(request)
        if first:
            time.sleep(self.window)
            with self._lock:
                del self._open[key]
            try:
                gathering.shared = SharedGeneration(pixelrnn.generate_many(model, gathering.requests, mask))
            except Exception as error:  # handed to every start that waits for it, not lost in this thread
                gathering.error = error
            gathering.ready.set()
        else:
            gathering.ready.wait()
        if gathering.error is not None:
            raise gathering.error
        start = sum(r.n for r in gathering.requests[:index])
        return gathering.shared, slice(start, start + request.n)


#: The app's batcher: every session's starts meet here.
BATCHER = Batcher()
