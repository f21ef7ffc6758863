"""The per-channel softmax bar charts: one ``gr.BarPlot`` per colour, 256 bars, the drawn value marked.

A chart's title names its channel (``R``, or ``grey`` for a greyscale model) and changes with
the model; its label, hidden, names the output in the HTTP API and does not: ``channel_1_softmax``.
"""

from __future__ import annotations

import gradio as gr
import pandas as pd
import torch

#: Bar colour of each channel's distribution, by number of channels.
CHANNELS = {
    1: (("grey", "#94a3b8"),),
    3: (("R", "#ef4444"), ("G", "#22c55e"), ("B", "#3b82f6")),
}
#: Colour of the bar of the value actually drawn.
DRAWN = "#f59e0b"
#: Charts built for the largest colour count; greyscale models show only the first.
MAX_CHANNELS = 3


def distribution_frame(probs: torch.Tensor | None, drawn: int | None, levels: int) -> pd.DataFrame:
    """Rows ``value, probability, kind`` for one channel; ``kind`` is ``p``, or ``drawn`` for the value drawn.

    ``probs`` ``Tensor[levels]`` (``None``: all zero, nothing drawn yet). Both kinds are always
    present (the chart takes its colour domain from the data it first gets), and the drawn
    value's row comes last: at chart width neighbouring bars overlap, later rows on top.
    """
    values = torch.zeros(levels) if probs is None else probs.detach().float().cpu()
    marked = 0 if drawn is None else int(drawn)
    frame = pd.DataFrame({"value": range(levels), "probability": values.numpy(), "kind": "p"})
    frame.loc[marked, "kind"] = "drawn"
    order = [k for k in range(levels) if k != marked] + [marked]
    return frame.iloc[order].reset_index(drop=True)


def probability_range(frame: pd.DataFrame) -> list[float | None]:
    """The y axis of a chart: from 0 to the highest bar, or to 1 while it has none (not 0 to 0)."""
    return [0, None] if bool((frame["probability"] > 0).any()) else [0, 1]


def value_range(levels: int) -> list[float]:
    """The x axis of a chart: each value's bar centred on it, the end ones whole (two bars for binary images)."""
    return [-0.5, levels - 0.5]


def distribution_plots(colors: int, levels: int = 256) -> list[gr.BarPlot]:
    """Create the :data:`MAX_CHANNELS` charts (inside the current layout), the first ``colors`` visible."""
    plots = []
    empty = distribution_frame(None, None, levels)
    for k, (name, color) in enumerate(CHANNELS[colors] + CHANNELS[MAX_CHANNELS][colors:]):
        plots.append(
            gr.BarPlot(
                empty,
                x="value",
                y="probability",
                color="kind",
                color_map={"p": color, "drawn": DRAWN},
                x_lim=value_range(levels),
                y_lim=probability_range(empty),
                x_title="value",
                y_title="p",
                title=f"{name} distribution",
                label=f"channel {k + 1} softmax",
                show_label=False,
                height=150,
                colors_in_legend=[],  # the intro above the charts says amber is the drawn value
                tooltip=["value", "probability"],
                elem_classes=["softmax"],
                visible=k < colors,
            )
        )
    return plots


def plot_updates(frames: list[pd.DataFrame], colors: int, levels: int) -> list[gr.BarPlot]:
    """Updates for the :data:`MAX_CHANNELS` charts: ``frames`` (one per colour) shown, the others hidden."""
    updates = []
    for k, (name, color) in enumerate(CHANNELS[colors] + ((None, None),) * (MAX_CHANNELS - colors)):
        if name is None:
            updates.append(gr.BarPlot(visible=False))
        else:
            updates.append(
                gr.BarPlot(
                    frames[k],
                    color_map={"p": color, "drawn": DRAWN},
                    x_lim=value_range(levels),
                    y_lim=probability_range(frames[k]),
                    title=f"{name} distribution",
                    visible=True,
                )
            )
    return updates
