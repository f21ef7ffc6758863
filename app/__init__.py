"""The Gradio app: complete images live, see every softmax, measure likelihoods, compress images, compare receptive fields.

    python app.py [--host 127.0.0.1] [--port 7860] [--share] [--checkpoint PATH_OR_REPO]

From Python: ``app.layout.create_app(checkpoints)`` builds it, ``app.server.serve(demo)`` serves it.
(Nothing is imported here, so that ``python -m app.make_gallery`` does not load gradio.)
"""
