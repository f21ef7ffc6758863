"""The live generation view shared by the Complete, Sample and Compress tabs (a decoding is a generation
whose values the file chooses).

Components: the samples side by side, the transport buttons (Pause, Resume, Step pixel,
Step row, Finish, Stop), a speed slider, a status line and one softmax chart per colour.
Generation streams from a generator callback that plays the session's
:class:`~app.live.LiveGeneration`; the other buttons act on that object from their own
(unqueued-limit) events, so they take effect while it plays.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import gradio as gr

from . import render
from .images import locate, strip_scale
from .live import LiveGeneration
from .plots import distribution_frame, distribution_plots, plot_updates
from .session import Session

#: Speed slider positions -> pixels per second (the last one: as fast as the model goes).
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, math.inf)
DEFAULT_SPEED = 6
#: While playing, the charts are redrawn at most this often (the picture at up to :data:`app.live.MAX_FPS`).
CHART_FPS = 4.0
#: Generation streams share this concurrency group (limit: the queue's default).
GENERATE_GROUP = "generate"


def speed_rate(position: float) -> float:
    """Slider position (1-10) -> pixels per second."""
    return SPEEDS[max(1, min(len(SPEEDS), int(position))) - 1]


@dataclass
class LiveView:
    """The components of one live view; :meth:`wire` connects them to a way of starting runs."""

    name: str
    picture: gr.Image
    status: gr.Markdown
    speed: gr.Slider
    pause: gr.Button
    resume: gr.Button
    step_pixel: gr.Button
    step_row: gr.Button
    finish: gr.Button
    stop: gr.Button
    plots: list[gr.BarPlot]
    #: For API clients: ``{"state", "count", "total", "position": [c, i, j]}`` of every frame, and
    #: once it stops playing ``"images"``: the samples' values, ``[n][C][H][W]``; ``"error"`` when it failed.
    progress: gr.JSON
    #: The label of the button that starts a run, and the state shown while one plays.
    start_label: str = "Generate"
    running: str = "Generating"

    @classmethod
    def build(
        cls, name: str, colors: int = 3, label: str = "Samples", start_label: str = "Generate", running: str = "Generating"
    ) -> LiveView:
        """Create, inside the current row, a column with the samples and controls and one with the charts.

        ``colors``: channels of the model chosen when the page opens (1 shows one chart); ``label``: the
        picture's; ``start_label``: the tab's start button's; ``running``: the state shown while a run plays.
        """
        with gr.Column(scale=3, min_width=360):
            picture = gr.Image(
                label=label,
                type="numpy",
                image_mode="RGBA",
                format="png",
                interactive=False,
                buttons=["download"],
                elem_classes=["pixelated", "live"],
                elem_id=f"{name}-picture",
                height=300,
            )
            with gr.Row(elem_classes=["transport"]):
                pause = gr.Button("Pause", size="sm", elem_id=f"{name}-pause")
                resume = gr.Button("Resume", size="sm", elem_id=f"{name}-resume")
                step_pixel = gr.Button("Step pixel", size="sm", elem_id=f"{name}-step-pixel")
                step_row = gr.Button("Step row", size="sm", elem_id=f"{name}-step-row")
                finish = gr.Button("Finish", size="sm", elem_id=f"{name}-finish")
                stop = gr.Button("Stop", size="sm", variant="stop", elem_id=f"{name}-stop")
            speed = gr.Slider(
                1,
                len(SPEEDS),
                value=DEFAULT_SPEED,
                step=1,
                label="Speed",
                info="1 pixel per second … 500 per second; 10: as fast as the model goes",
                elem_id=f"{name}-speed",
            )
            status = gr.Markdown(f"Press **{start_label}**.", label="status", elem_id=f"{name}-status", elem_classes=["status"])
            progress = gr.JSON(label="progress", visible=False)
        with gr.Column(scale=2, min_width=280, elem_classes=["softmax-column"]):
            gr.Markdown(
                "**Softmax of the current pixel**, per channel; the value drawn in amber. "
                "Pause and click any generated pixel to see the distributions it was drawn from."
            )
            plots = distribution_plots(colors)
        return cls(
            name, picture, status, speed, pause, resume, step_pixel, step_row, finish, stop, plots, progress, start_label, running
        )

    # ------------------------------------------------------------------ outputs
    @property
    def outputs(self) -> list:
        """What a frame updates. Never the buttons: gradio disables an event's outputs while it runs."""
        return [self.picture, *self.plots, self.status, self.progress]

    def frame(self, run: LiveGeneration, state: str, selected=None, charts: bool = True) -> list:
        """Values for :attr:`outputs`; ``selected`` = ``(sample, i, j)`` shows that pixel's distributions.

        ``charts=False`` leaves the charts as they are (they cost the browser more than the picture).
        """
        sample, i, j = selected if selected is not None else (0, *(run.position or (0, 0, 0))[1:])
        if charts:
            plots = plot_updates(render.pixel_distributions(run, sample, i, j), run.model.colors, run.model.levels)
        else:
            plots = [gr.skip()] * len(self.plots)
        if selected is not None:
            status = f"**Sample {sample + 1}, pixel ({i}, {j})** · " + (
                render.pixel_summary(run, sample, i, j) or "not generated (given, or not reached yet)"
            )
        else:
            status = render.status(run, state)
        progress = {"state": state, "count": run.count, "total": run.total, "position": run.position}
        if state != self.running:
            progress["images"] = run.image.tolist()
        if run.error is not None:
            progress["error"] = run.error
        return [render.samples_picture(run, selected), *plots, status, progress]

    @staticmethod
    def state_of(run: LiveGeneration) -> str:
        """What a run that is not playing is: ``Done``, ``Failed`` (see ``run.error``), ``Stopped`` or ``Paused``."""
        if run.finished:
            return "Done"
        return "Failed" if run.error is not None else "Stopped" if run.stopped else "Paused"

    # ------------------------------------------------------------------ events
    def stream(self, run: LiveGeneration, token: int):
        """Play ``run`` and yield frames until it ends or the user takes over."""
        if run.finished or run.stopped:
            yield self.frame(run, self.state_of(run))
            return
        yield self.frame(run, self.running)
        next_charts = 0.0
        for _ in run.play(token):
            now = time.monotonic()
            yield self.frame(run, self.running, charts=now >= next_charts)
            if now >= next_charts:
                next_charts = now + 1.0 / CHART_FPS
        yield self.frame(run, self.state_of(run))

    def run_of(self, session: Session) -> LiveGeneration:
        run = session.runs.get(self.name)
        if run is None:
            raise gr.Error(f"Nothing is being generated: press {self.start_label} first.")
        return run

    # ------------------------------------------------------------------ handlers
    def starter(self, make_run: Callable[..., LiveGeneration]):
        """The Generate handler: ``make_run(session, *inputs)`` with the speed last; streams the new run.

        API clients see ``make_run``'s parameter names, then ``speed``.
        """

        def on_start(session: Session, *values):
            *values, speed = values
            try:
                run = make_run(session, *values)
            except ValueError as error:
                raise gr.Error(str(error)) from None
            if self.name in session.runs:
                session.runs[self.name].stop()
            run.rate = speed_rate(speed)
            session.runs[self.name] = run
            yield from self.stream(run, run.new_player())

        speed = inspect.Parameter("speed", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        on_start.__signature__ = inspect.Signature([*inspect.signature(make_run).parameters.values(), speed])
        return on_start

    def on_resume(self, session: Session):
        run = self.run_of(session)
        yield from self.stream(run, run.new_player())

    def on_pause(self, session: Session) -> None:
        self.run_of(session).pause()

    def stepper(self, action: Callable[[LiveGeneration], int]):
        """A handler that advances the run with ``action`` (e.g. :meth:`LiveGeneration.step_row`) and shows it."""

        def on_step(session: Session):
            run = self.run_of(session)
            action(run)
            return self.frame(run, self.state_of(run))

        return on_step

    def on_stop(self, session: Session):
        run = self.run_of(session)
        run.stop()
        return self.frame(run, self.state_of(run))

    def on_speed(self, session: Session, speed: float) -> None:
        run = session.runs.get(self.name)
        if run is not None:
            run.rate = speed_rate(speed)

    def on_select(self, session: Session, evt: gr.SelectData):
        """A click on the samples: show the distributions of the pixel under it."""
        run = self.run_of(session)
        x, y = evt.index
        where = locate(x, y, run.model.image_shape, run.n, strip_scale(run.model.image_shape, run.n))
        if where is None:
            return [gr.skip()] * len(self.outputs)
        return self.frame(run, self.state_of(run), selected=where)

    def on_choose(self, session: Session, label: str):
        """A model picked: one empty chart per channel of it."""
        if not label:
            return [gr.skip()] * len(self.plots)
        colors, levels = session.entry(label).image_shape[0], session.entry(label).levels
        return plot_updates([distribution_frame(None, None, levels)] * colors, colors, levels)

    def wire(
        self,
        session: gr.State,
        start: gr.Button,
        make_run: Callable[..., LiveGeneration],
        inputs: list,
        chooser: gr.Dropdown,
    ) -> None:
        """Start a run with ``make_run(session, *inputs)`` when ``start`` is clicked; connect the controls.

        API names: ``<name>_<start label>`` (``sample_generate``) starts a run, ``<name>_pause``, ``<name>_stop``... act on it.

        ``chooser``: the model dropdown; picking a model shows one empty chart per channel of it.
        """
        quiet = dict(show_progress="hidden", concurrency_limit=None)
        private = dict(api_visibility="private", **quiet)
        streaming = dict(show_progress="hidden", concurrency_id=GENERATE_GROUP)
        started = start.click(
            self.starter(make_run),
            [session, *inputs, self.speed],
            self.outputs,
            api_name=f"{self.name}_{self.start_label.lower()}",
            **streaming,
        )
        resumed = self.resume.click(self.on_resume, [session], self.outputs, api_name=f"{self.name}_resume", **streaming)
        self.pause.click(self.on_pause, [session], None, api_name=f"{self.name}_pause", **quiet)
        for button, action, api_name in (
            (self.step_pixel, LiveGeneration.step_pixel, "step_pixel"),
            (self.step_row, LiveGeneration.step_row, "step_row"),
            (self.finish, LiveGeneration.finish, "finish"),
        ):
            button.click(self.stepper(action), [session], self.outputs, api_name=f"{self.name}_{api_name}", **quiet)
        self.stop.click(self.on_stop, [session], self.outputs, cancels=[started, resumed], api_name=f"{self.name}_stop", **quiet)
        self.speed.change(self.on_speed, [session, self.speed], None, **private)
        self.picture.select(self.on_select, [session], self.outputs, **private)
        chooser.change(self.on_choose, [session, chooser], self.plots, **private)


def sampling_settings(name: str, max_n: int = 4) -> tuple[gr.Slider, gr.Slider, gr.Number]:
    """The sliders every generation takes: samples side by side, temperature, seed."""
    with gr.Row():
        n = gr.Slider(1, max_n, value=2, step=1, label="Samples side by side", elem_id=f"{name}-n")
        temperature = gr.Slider(
            0.05,
            2.0,
            value=1.0,
            step=0.05,
            label="Temperature",
            info="< 1: safer, > 1: wilder",
            elem_id=f"{name}-temperature",
        )
    seed = gr.Number(
        value=0,
        precision=0,
        label="Seed",
        info="same seed, same samples; clear it for a random one",
        elem_id=f"{name}-seed",
    )
    return n, temperature, seed


def seed_value(seed) -> int | None:
    """The seed box's value for :func:`pixelrnn.generate`: ``None`` (random) when empty."""
    return None if seed is None or seed == "" else int(seed)
