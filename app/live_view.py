"""The live generation view shared by the Complete, Sample and Compress tabs (a decoding is a generation
whose values the file chooses).

Components: the start button (Generate, Decode) above the samples side by side (in sight, however long the settings column
beside), the transport buttons (Pause, Resume, Step pixel, Step row, Finish, Stop), a status line,
one softmax chart per colour beside the samples (below them on a narrow screen), and the speed
control. Generation streams from a generator callback that plays the session's
:class:`~app.live.LiveGeneration`; the other buttons act on that object from their own unqueued
events, so they take effect while it plays. The browser confirms every frame it shows (a change
event of the hidden progress value), which paces the stream to what the browser keeps up with
(see :mod:`app.live`).

A frame while playing sends what changed and is cheap to show: the picture, the status line, and
at most :data:`CHART_FPS` times a second the charts of the channels drawn at the current pixel,
each as its bars alone once it has its axes (new axes make the browser build a chart anew, which
cost it more than the rest of the frame). Frames that stop the run (Paused, Stopped, Done), and
those of the buttons, show every chart whole; Stop during a stream answers with the state alone,
and the stream's last frame brings the picture and the charts.
"""

from __future__ import annotations

import inspect
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from . import render
from .errors import user_error
from .images import locate, strip_scale
from .live import LiveGeneration
from .plots import MAX_CHANNELS, chart_update, distribution_data, distribution_plots, plot_updates
from .session import Session
from .widgets import integer_radio

#: The speed control's steps, pixels per second (the last one: as fast as the model goes).
SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500, math.inf)
#: The step the control starts at (1-based, like the API's ``speed``): 50 pixels per second.
DEFAULT_SPEED = 6
#: While playing, the charts are redrawn at most this often (the picture at up to :data:`app.live.MAX_FPS`).
CHART_FPS = 2.0
#: The states of a run that plays, shown first on its status line: a generation's and a decoding's.
GENERATING, DECODING = "Generating", "Decoding"
#: The page's script: Pause and Stop freeze the picture at the click (see freeze.js), while a run plays.
FREEZE_JS = (Path(__file__).with_name("freeze.js")).read_text().replace("RUNNING_STATES", json.dumps([GENERATING, DECODING]))
#: Generation streams share this concurrency group.
GENERATE_GROUP = "generate"
#: At most this many streams play at once, more than the queue's default for other events: a stream mostly
#: waits (for its speed, for the browser; at 1 px/s a run holds its worker for minutes), and runs that start
#: together share one sampler. Eight users sampling at once finish sooner all admitted than four by four.
GENERATE_LIMIT = 8


def speed_rate(step: int) -> float:
    """Speed step (1 to ``len(SPEEDS)``) -> pixels per second."""
    return SPEEDS[int(step) - 1]


def speed_label(rate: float) -> str:
    """``50 px/s``, or ``max`` for as fast as the model goes."""
    return "max" if math.isinf(rate) else f"{rate} px/s"


@dataclass
class LiveView:
    """The components of one live view; :meth:`wire` connects them to a way of starting runs."""

    name: str
    start: gr.Button
    picture: gr.Image
    status: gr.Markdown
    speed: gr.Radio
    pause: gr.Button
    resume: gr.Button
    step_pixel: gr.Button
    step_row: gr.Button
    finish: gr.Button
    stop: gr.Button
    plots: list[gr.BarPlot]
    #: For API clients: ``{"run", "state", "count", "total", "position": [c, i, j]}`` of every frame, and
    #: once it stops playing ``"images"``: the samples' values, ``[n][C][H][W]``; ``"error"`` when it failed.
    #: The browser confirms frames with it.
    progress: gr.JSON
    #: The label of the button that starts a run, and the state shown while one plays.
    start_label: str = "Generate"
    running: str = GENERATING

    @classmethod
    def build(
        cls, name: str, colors: int = 3, label: str = "Samples", start_label: str = "Generate", running: str = GENERATING
    ) -> LiveView:
        """Create, inside the current row, a column with the start button, samples, controls and charts, and the speed below.

        ``colors``: channels of the model chosen when the page opens (1 shows one chart); ``label``: the
        picture's; ``start_label``: the tab's start button's; ``running``: the state shown while a run plays.
        """
        with gr.Column(scale=2, min_width=300):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=300):
                    start = gr.Button(start_label, variant="primary", elem_id=f"{name}-{start_label.lower()}")
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
                    status = gr.Markdown(
                        f"Press **{start_label}**.", label="status", elem_id=f"{name}-status", elem_classes=["status"]
                    )
                with gr.Column(scale=2, min_width=240, elem_classes=["softmax-column"]):
                    gr.Markdown(
                        "**Softmax of the current pixel** per channel, the drawn value in amber. "
                        "Paused, click a generated pixel to see its own."
                    )
                    plots = distribution_plots(colors)
            speed = integer_radio(
                [(speed_label(rate), step) for step, rate in enumerate(SPEEDS, 1)],
                value=DEFAULT_SPEED,
                label="Speed",
                info="pixels per second; max: as fast as the model goes",
                elem_id=f"{name}-speed",
                elem_classes=["speed"],
            )
            progress = gr.JSON(label="progress", visible=False)
        return cls(
            name,
            start,
            picture,
            status,
            speed,
            pause,
            resume,
            step_pixel,
            step_row,
            finish,
            stop,
            plots,
            progress,
            start_label,
            running,
        )

    # ------------------------------------------------------------------ outputs
    @property
    def outputs(self) -> list:
        """What a frame updates. Never the buttons: gradio disables an event's outputs while it runs."""
        return [self.picture, *self.plots, self.status, self.progress]

    def frame(
        self, run: LiveGeneration, state: str, selected=None, charts: list | None = None, picture: bool = True, note: str = ""
    ) -> list:
        """Values for :attr:`outputs`; ``selected`` = ``(sample, i, j)`` shows that pixel's distributions.

        ``charts``: what the charts get (default: every chart whole, that pixel's distributions; see
        :meth:`playing_charts`); ``picture=False`` leaves the picture as it is; ``note`` ends the status line.
        """
        sample, i, j = selected if selected is not None else (0, *(run.position or (0, 0, 0))[1:])
        if charts is not None:
            plots = charts
        else:
            plots = plot_updates(render.pixel_distributions(run, sample, i, j), run.model.colors, run.model.levels)
        if selected is not None:
            status = f"**Sample {sample + 1}, pixel ({i}, {j})** · " + (
                render.pixel_summary(run, sample, i, j) or "not generated (given, or not reached yet)"
            )
        else:
            status = render.status(run, state, note)
        progress = {"run": run.id, "state": state, "count": run.count, "total": run.total, "position": run.position}
        if state != self.running:
            progress["images"] = run.image.tolist()
        if run.error is not None:
            progress["error"] = run.error
        shown = render.samples_picture(run, selected) if picture else gr.skip()
        return [shown, *plots, status, progress]

    @staticmethod
    def state_of(run: LiveGeneration) -> str:
        """What a run that is not playing is: ``Done``, ``Failed`` (see ``run.error``), ``Stopped`` or ``Paused``."""
        if run.finished:
            return "Done"
        return "Failed" if run.error is not None else "Stopped" if run.stopped else "Paused"

    def cannot_resume(self, state: str) -> str:
        """Why a run that is ``Done``, ``Stopped`` or ``Failed`` does not resume, for its status line."""
        why = {
            "Done": "Nothing is left to do",
            "Stopped": "Stop ends a generation for good (Pause keeps it resumable)",
            "Failed": "A failed run cannot go on",
        }[state]
        return f"{why}: press {self.start_label} for a new one."

    @staticmethod
    def playing_charts(run: LiveGeneration, whole: set[int]) -> list:
        """The charts of a frame while playing: each channel drawn at the current pixel, the others as they are.

        ``whole``: the charts this stream has already redrawn whole (axes and all); they get their bars
        alone, the others a whole update, and join ``whole``.
        """
        charts = [gr.skip()] * MAX_CHANNELS
        if run.position is None:
            return charts
        _, i, j = run.position
        for c in range(run.model.colors):
            data = render.pixel_distribution(run, 0, c, i, j)
            if data is not None:
                charts[c] = data if c in whole else chart_update(c, data, run.model.colors, run.model.levels)
                whole.add(c)
        return charts

    # ------------------------------------------------------------------ events
    def stream(self, session: Session, run: LiveGeneration, token: int):
        """Play ``run`` and yield frames until it ends or the user takes over."""
        if run.finished or run.stopped:
            state = self.state_of(run)
            yield self.frame(run, state, note=self.cannot_resume(state))
            return
        next_charts, last_count, whole = 0.0, None, set()
        for _ in run.play(token):
            now = time.monotonic()
            charts = self.playing_charts(run, whole) if now >= next_charts else [gr.skip()] * MAX_CHANNELS
            yield self.frame(run, self.running, charts=charts)
            if now >= next_charts:
                next_charts = now + 1.0 / CHART_FPS
            last_count = run.count
        if session.runs.get(self.name) is not run or run.playing:
            return  # a newer start or Resume took over
        # The last frame comes after those still on their way, even when Stop answered: the screen ends on this
        # run's state. One frame: a second one could land after a Resume's first. An unchanged picture is not
        # sent again: gradio would rewrite its cached file while the browser reads it.
        yield self.frame(run, self.state_of(run), picture=run.count != last_count)

    def run_of(self, session: Session) -> LiveGeneration:
        run = session.runs.get(self.name)
        if run is None:
            raise user_error(f"Nothing is being generated: press {self.start_label} first.")
        return run

    # ------------------------------------------------------------------ handlers
    def starter(self, make_run: Callable[..., LiveGeneration], inputs: int):
        """The start handler: ``make_run(session, *values)``, taking the speed after its first ``inputs`` values;
        streams the new run.

        A run still playing is stopped, and the new one starts with the new settings. API clients see
        ``make_run``'s first ``inputs`` parameter names, then ``speed``, then the rest (settings added later,
        with defaults, so that clients calling by position still work).
        """

        def on_start(session: Session, *values):
            speed = values[inputs]
            try:
                run = make_run(session, *values[:inputs], *values[inputs + 1 :])
            except ValueError as error:
                raise user_error(str(error)) from None
            run.rate = speed_rate(speed)
            # The new run first, so that the stream of the one it replaces ends without a last frame.
            previous, session.runs[self.name] = session.runs.get(self.name), run
            if previous is not None:
                if previous.playing and not previous.finished:
                    gr.Info(
                        f"Started again with the new settings; the generation before stopped at "
                        f"{previous.count} / {previous.total} sub-pixels."
                    )
                previous.stop()
            yield from self.stream(session, run, run.new_player())

        speed_parameter = inspect.Parameter("speed", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        session, *parameters = inspect.signature(make_run).parameters.values()
        on_start.__signature__ = inspect.Signature([session, *parameters[:inputs], speed_parameter, *parameters[inputs:]])
        return on_start

    def on_resume(self, session: Session):
        run = self.run_of(session)
        yield from self.stream(session, run, run.new_player())

    def on_pause(self, session: Session, shown: dict | None = None) -> None:
        """Pause; ``shown``: the progress of the frame the browser shows (:attr:`progress`), or ``None`` (API clients)."""
        run = self.run_of(session)
        # The click carries the frame on screen: the run lands on it even when the click overtakes its confirmation.
        self.on_shown(session, shown)
        run.pause()

    def stepper(self, action: Callable[[LiveGeneration], int]):
        """A handler that advances the run with ``action`` (e.g. :meth:`LiveGeneration.step_row`) and shows it."""

        def on_step(session: Session):
            run = self.run_of(session)
            action(run)
            return self.frame(run, self.state_of(run))

        return on_step

    def on_stop(self, session: Session, shown: dict | None = None):
        """Stop for good; ``shown`` as in :meth:`on_pause`."""
        run = self.run_of(session)
        self.on_shown(session, shown)
        streaming = run.playing
        run.stop()
        if streaming:  # the stream shows the picture and the charts itself (see stream): the state alone, at once
            return self.frame(run, self.state_of(run), charts=[gr.skip()] * MAX_CHANNELS, picture=False)
        return self.frame(run, self.state_of(run))

    def on_speed(self, session: Session, speed: int) -> None:
        run = session.runs.get(self.name)
        if run is not None:
            run.rate = speed_rate(speed)

    def on_shown(self, session: Session, progress: dict | None) -> None:
        """The browser shows the frame ``progress``: it may pace the run that sent it."""
        run = session.runs.get(self.name)
        if run is not None and progress and progress.get("run") == run.id:
            run.acknowledge(progress["count"])

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
        return plot_updates([distribution_data(None, None, levels)] * colors, colors, levels)

    def wire(
        self,
        session: gr.State,
        make_run: Callable[..., LiveGeneration],
        inputs: list,
        chooser: gr.Dropdown,
        options: list = (),
    ) -> None:
        """Start a run with ``make_run(session, *inputs, *options)`` when :attr:`start` is clicked; connect the controls.

        API names: ``<name>_<start label>`` (``sample_generate``) starts a run, ``<name>_pause``, ``<name>_stop``... act on it;
        the start takes ``inputs``, the speed, then ``options``.

        ``chooser``: the model dropdown; picking a model shows one empty chart per channel of it.
        The controls skip the queue: they answer at once, however many frames the queue is sending.
        """
        quiet = dict(show_progress="hidden", queue=False)
        private = dict(api_visibility="private", **quiet)
        streaming = dict(show_progress="hidden", concurrency_id=GENERATE_GROUP, concurrency_limit=GENERATE_LIMIT)
        self.start.click(
            self.starter(make_run, len(inputs)),
            [session, *inputs, self.speed, *options],
            self.outputs,
            api_name=f"{self.name}_{self.start_label.lower()}",
            trigger_mode="multiple",  # pressed again while it runs: start again with the new settings
            **streaming,
        )
        self.resume.click(self.on_resume, [session], self.outputs, api_name=f"{self.name}_resume", **streaming)
        self.pause.click(self.on_pause, [session, self.progress], None, api_name=f"{self.name}_pause", **quiet)
        for button, action, api_name in (
            (self.step_pixel, LiveGeneration.step_pixel, "step_pixel"),
            (self.step_row, LiveGeneration.step_row, "step_row"),
            (self.finish, LiveGeneration.finish, "finish"),
        ):
            button.click(self.stepper(action), [session], self.outputs, api_name=f"{self.name}_{api_name}", **quiet)
        # No cancels=[...] of the streams: a stopped run ends its stream at its next step anyway, and a Stop
        # pressed while a start is still on its way would cancel the new stream and leave its run hanging.
        self.stop.click(self.on_stop, [session, self.progress], self.outputs, api_name=f"{self.name}_stop", **quiet)
        self.speed.change(self.on_speed, [session, self.speed], None, **private)
        self.progress.change(self.on_shown, [session, self.progress], None, **private)
        self.picture.select(self.on_select, [session], self.outputs, **private)
        chooser.change(self.on_choose, [session, chooser], self.plots, **private)


def sampling_settings(name: str, max_n: int = 4) -> tuple[gr.Slider, gr.Slider, gr.Number]:
    """The sliders every generation takes: samples side by side, temperature, seed."""
    with gr.Row():
        n = gr.Slider(1, max_n, value=2, step=1, precision=0, label="Samples side by side", elem_id=f"{name}-n")
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
