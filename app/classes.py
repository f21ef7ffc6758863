"""The class picker: which class a class-conditional model draws (or is scored with), by name.

A class-conditional model (``num_classes > 0``) takes a label per image; the app names labels by
the model's class names (:attr:`app.catalog.ModelEntry.class_names`). Beside a model chooser the
picker lists the chosen model's classes, and is hidden for an unconditional model, whose only
choice is :data:`ANY` and which ignores the picker. Beside a tab that scores images (Likelihood,
Compress) :data:`ANY` is a choice for conditional models too: each scores the image as the class it
finds most likely, so that scoring works for API clients that send no class.

The picker accepts any string (``allow_custom_value``) and is documented to API clients as one:
its choices change with the model, while gradio would check a client's value against the choices
the page opened with. Names are checked here, with a message listing the model's classes.
"""

from __future__ import annotations

from collections.abc import Callable

import gradio as gr
import torch

import pixelrnn

from .catalog import ModelEntry
from .session import Session

#: The picker's value for "no class": an unconditional model's only choice.
ANY = "any"
#: What the picker tells API clients.
DESCRIPTION = f"the class to draw, by name, for a class-conditional model; {ANY!r} (the default) for an unconditional one"


def class_picker(elem_id: str, names: list[str], scoring: bool = False) -> gr.Dropdown:
    """A class dropdown listing ``names`` (a conditional model's classes; none: hidden, the value :data:`ANY`).

    ``scoring``: :data:`ANY` is a choice too, meaning each model's most likely class.
    """
    dropdown = gr.Dropdown(
        label="Class",
        allow_custom_value=True,
        elem_id=elem_id,
        interactive=True,
        **picker_choices(names, scoring),
    )
    dropdown.api_info = lambda: {"type": "string", "description": DESCRIPTION}
    return dropdown


def picker_choices(names: list[str], scoring: bool = False, current: str | None = None) -> dict:
    """The picker's ``choices``, ``value``, ``visible`` and ``info`` for classes ``names``; ``current`` stays picked if it is one."""
    if not names:
        return dict(choices=[ANY], value=ANY, visible=False, info=None)
    choices = [ANY, *names] if scoring else list(names)
    info = f"{ANY}: the class each model finds most likely" if scoring else "the class the model draws"
    return dict(choices=choices, value=current if current in choices else choices[0], visible=True, info=info)


def picker_update(names: list[str], scoring: bool = False, current: str | None = None) -> gr.Dropdown:
    """The picker showing classes ``names`` (see :func:`picker_choices`)."""
    return gr.Dropdown(**picker_choices(names, scoring, current))


def classes_of(entries: list[ModelEntry]) -> list[str]:
    """The class names a picker offers for ``entries`` (one model, or the models of a data set): the first
    class-conditional one's; none when every one is unconditional."""
    return next((entry.class_names for entry in entries if entry.num_classes), [])


def follow(
    session: gr.State,
    chooser: gr.components.Component,
    picker: gr.Dropdown,
    entries_of: Callable[[Session, str], list[ModelEntry]],
    scoring: bool = False,
) -> None:
    """Make ``picker`` list the classes of what ``chooser`` picks (a model, or a data set): ``entries_of(session, value)``.

    The class picked stays picked when the new choice has it too.
    """

    def on_choose(session: Session, choice: str, current: str | None):
        if not choice:
            return gr.skip()
        return picker_update(classes_of(entries_of(session, choice)), scoring, current)

    chooser.change(on_choose, [session, chooser, picker], picker, show_progress="hidden", api_visibility="private")


def label_of(entry: ModelEntry, name: str | None) -> int | None:
    """The label of class ``name`` for the model of ``entry``: ``None`` for an unconditional model (it draws no class).

    ``ValueError`` naming the model's classes when a conditional model gets :data:`ANY` or a name it lacks.
    """
    if entry.num_classes == 0:
        return None
    names = entry.class_names
    if name in names:
        return names.index(name)
    classes = ", ".join(repr(n) for n in names)
    if not name or name == ANY:
        raise ValueError(f"{entry.label} draws the class it is given: pick one of {classes}.")
    raise ValueError(f"{entry.label} has no class {name!r}; its classes are {classes}.")


def scoring_label(entry: ModelEntry, name: str | None, image: torch.Tensor) -> int | None:
    """The label to score ``image`` (``LongTensor[C, H, W]``) with: :func:`label_of` ``name``, and for
    :data:`ANY` the class the conditional model finds most likely for it."""
    if entry.num_classes == 0 or (name and name != ANY):
        return label_of(entry, name)
    return most_likely_class(entry.model(), image)


def most_likely_class(model: pixelrnn.PixelModel, image: torch.Tensor) -> int:
    """The label ``y`` of a class-conditional ``model`` that maximises ``p(image | y)``; ``image``: ``LongTensor[C, H, W]``."""
    every = torch.arange(model.num_classes, device=model.device)
    with torch.no_grad():
        log_probs = model.log_prob(image.to(model.device).expand(model.num_classes, *image.shape), every)
    return int(log_probs.argmax())
