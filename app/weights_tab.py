"""The Weights tab: load a model (Hub repo or uploaded files), read its card, download it, publish it."""

from __future__ import annotations

import gradio as gr

from . import weights
from .catalog import ModelEntry, group_name
from .errors import user_warning
from .session import Session


def build(
    session: gr.State, entries: list[ModelEntry], model_choosers: list[gr.Dropdown], group_choosers: list[gr.Radio]
) -> None:
    """Lay out the tab inside the current ``gr.Tab``.

    A model loaded here joins this user's ``model_choosers`` (and its data set their ``group_choosers``).
    """
    labels = [e.label for e in entries]
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=300):
            gr.Markdown("### Load a model")
            repo = gr.Textbox(label="Hugging Face Hub repo id", placeholder="org/pixelrnn-row-lstm", elem_id="weights-repo")
            from_hub = gr.Button("Load from the Hub", elem_id="weights-load-hub")
            files = gr.File(
                label="… or upload model.safetensors and config.json",
                file_count="multiple",
                file_types=[".safetensors", ".json"],
                elem_id="weights-files",
            )
            from_files = gr.Button("Load the uploaded files", elem_id="weights-load-files")
            load_status = gr.Markdown(elem_id="weights-load-status")
            gr.Markdown("### Publish the chosen model to the Hub")
            target = gr.Textbox(
                label="Repo id to publish to", placeholder="your-name/pixelrnn-row-lstm", elem_id="weights-target"
            )
            token = gr.Textbox(
                label="Access token (write)",
                type="password",
                placeholder="hf_…",
                info="Used for this one upload, then cleared; never stored or logged.",
                elem_id="weights-token",
            )
            private = gr.Checkbox(label="Private repo", value=False)
            publish = gr.Button("Publish", variant="primary", elem_id="weights-publish")
            publish_status = gr.Markdown(elem_id="weights-publish-status")
        with gr.Column(scale=3, min_width=360):
            model = gr.Dropdown(labels, value=labels[0] if labels else None, label="Model", elem_id="weights-model")
            with gr.Row():
                prepare = gr.Button("Download these weights", elem_id="weights-download")
            downloads = gr.File(label="Downloads", file_count="multiple", interactive=False, elem_id="weights-files-out")
            with gr.Accordion("config.json", open=False):
                config = gr.JSON(entries[0].config if entries else None, elem_id="weights-config")
            card = gr.Markdown(weights.card(entries[0]) if entries else "", elem_id="weights-card", elem_classes=["model-card"])

    def loaded(session: Session, entry) -> list:
        """Add ``entry`` for this user; updates for the status, every model and data set chooser."""
        label = session.add(entry)
        choices = session.labels()
        groups = [(group_name(g), g) for g in session.groups()]
        return [
            f"Loaded **{label}**: pick it in any tab.",
            *[gr.Dropdown(choices=choices) for _ in model_choosers],
            *[gr.Radio(choices=groups) for _ in group_choosers],
            gr.Dropdown(choices=choices, value=label),
        ]

    def on_hub(session: Session, repo_id: str):
        try:
            return loaded(session, weights.load_from_hub(repo_id))
        except ValueError as error:
            return [user_warning(str(error)), *[gr.skip()] * (len(model_choosers) + len(group_choosers) + 1)]

    def on_files(session: Session, paths):
        try:
            return loaded(session, weights.load_from_files(paths))
        except ValueError as error:
            return [user_warning(str(error)), *[gr.skip()] * (len(model_choosers) + len(group_choosers) + 1)]

    def on_model(session: Session, label: str):
        if not label:
            return "", None, None
        entry = session.entry(label)
        return weights.card(entry), entry.config, None

    def on_prepare(session: Session, label: str):
        return weights.export(session.entry(label))

    def on_publish(session: Session, label: str, repo_id: str, secret: str, is_private: bool):
        try:
            url = weights.publish(session.entry(label), repo_id, secret, is_private)
            message = f"Published: [{url}]({url})"
        except ValueError as error:
            message = user_warning(str(error))
        return message, ""

    load_outputs = [load_status, *model_choosers, *group_choosers, model]
    private_api = dict(api_visibility="private")
    from_hub.click(on_hub, [session, repo], load_outputs, **private_api)
    from_files.click(on_files, [session, files], load_outputs, **private_api)
    model.change(on_model, [session, model], [card, config, downloads], **private_api)
    prepare.click(on_prepare, [session, model], downloads, **private_api)
    publish.click(on_publish, [session, model, target, token, private], [publish_status, token], **private_api)
