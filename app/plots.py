"""The per-channel softmax bar charts: one ``gr.BarPlot`` per colour, 256 bars, the drawn value marked.

A chart's title names its channel (``R``, or ``grey`` for a greyscale model) and changes with
the model; its label, hidden, names the output in the HTTP API and does not: ``channel_1_softmax``.
"""

from __future__ import annotations

import gradio as gr
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
#: The columns of a chart's rows and how the chart reads each.
COLUMNS = {"value": "quantitative", "probability": "quantitative", "kind": "nominal"}


def distribution_data(probs: torch.Tensor | None, drawn: int | None, levels: int) -> dict:
    """A chart's value: rows ``[value, probability, kind]`` for one channel, ``kind`` ``p``, or ``drawn`` for the value drawn.

    Gradio's plot data, built directly (a DataFrame per frame cost more than the rest of the frame).
    ``probs`` ``Tensor[levels]`` (``None``: all zero, nothing drawn yet). Both kinds are always
    present (the chart takes its colour domain from the data it first gets), and the drawn
    value's row comes last: at chart width neighbouring bars overlap, later rows on top.
    """
    values = [0.0] * levels if probs is None else probs.detach().float().cpu().tolist()
    marked = 0 if drawn is None else int(drawn)
    rows = [[value, p, "p"] for value, p in enumerate(values) if value != marked]
    rows.append([marked, values[marked], "drawn"])
    return {"columns": list(COLUMNS), "data": rows, "datatypes": COLUMNS, "mark": "bar"}


def probability_range(data: dict) -> list[float | None]:
    """The y axis of a chart: from 0 to the highest bar, or to 1 while it has none (not 0 to 0)."""
    return [0, None] if any(p > 0 for _, p, _ in data["data"]) else [0, 1]


def value_range(levels: int) -> list[float]:
    """The x axis of a chart: each value's bar centred on it, the end ones whole (two bars for binary images)."""
    return [-0.5, levels - 0.5]


def distribution_plots(colors: int, levels: int = 256) -> list[gr.BarPlot]:
    """Create the :data:`MAX_CHANNELS` charts (inside the current layout), the first ``colors`` visible."""
    plots = []
    empty = distribution_data(None, None, levels)
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


def chart_update(k: int, data: dict | None, colors: int, levels: int) -> gr.BarPlot:
    """Chart ``k`` redrawn whole for a model of ``colors`` channels: ``data``, its axes, title and colours (hidden when ``k >= colors``).

    Its axes or title changing makes the browser build the chart anew; a new value alone only replaces its bars.
    """
    if k >= colors:
        return gr.BarPlot(visible=False)
    name, color = CHANNELS[colors][k]
    return gr.BarPlot(
        data,
        color_map={"p": color, "drawn": DRAWN},
        x_lim=value_range(levels),
        y_lim=probability_range(data),
        title=f"{name} distribution",
        visible=True,
    )


def plot_updates(datas: list[dict], colors: int, levels: int) -> list[gr.BarPlot]:
    """Updates for the :data:`MAX_CHANNELS` charts: ``datas`` (one per colour) shown, the others hidden."""
    return [chart_update(k, datas[k] if k < colors else None, colors, levels) for k in range(MAX_CHANNELS)]
