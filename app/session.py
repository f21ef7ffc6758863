"""What one user (browser tab or API client) owns: the models they loaded, their generations in progress."""

from __future__ import annotations

from .catalog import ModelEntry
from .errors import user_error
from .live import LiveGeneration


class Session:
    """Per-user state, kept in a ``gr.State``; the shipped models are shared, everything else is not."""

    def __init__(self, shipped: list[ModelEntry]):
        self.shipped = shipped
        #: Models this user loaded on the Weights tab, by label.
        self.loaded: dict[str, ModelEntry] = {}
        #: The generation of each live view ("complete", "sample", "compress"), if one was started.
        self.runs: dict[str, LiveGeneration] = {}

    def __deepcopy__(self, memo):
        # gr.State gives every user a deep copy of its initial value. Users share only the shipped
        # models (and a session's locks and generators cannot be copied): a user's copy is a new session.
        return Session(self.shipped)

    def labels(self) -> list[str]:
        """Labels of every model this user can pick: the shipped ones, then their own."""
        return [e.label for e in self.entries()]

    @property
    def shipped_labels(self) -> set[str]:
        return {e.label for e in self.shipped}

    def entries(self, group: str | None = None) -> list[ModelEntry]:
        """Every model this user can pick (of ``group`` only, when given), shipped ones first."""
        every = list(self.shipped) + [e for label, e in self.loaded.items() if label not in self.shipped_labels]
        return [e for e in every if group is None or e.group == group]

    def groups(self) -> list[str]:
        """The groups (data sets) of :meth:`entries`, in order of first appearance."""
        return list(dict.fromkeys(e.group for e in self.entries()))

    def entry(self, label: str | None) -> ModelEntry:
        """The model called ``label``; a ``gr.Error`` telling the user what to do when there is none."""
        for entry in self.shipped:
            if entry.label == label:
                return entry
        if label in self.loaded:
            return self.loaded[label]
        if not label:
            raise user_error("Pick a model first (no weights are loaded: see the Weights tab).")
        raise user_error(f"No model called {label!r}; pick one from the list.")

    def add(self, entry: ModelEntry) -> str:
        """Make a model loaded by this user available to them; returns its (unique) label."""
        label, k = entry.label, 2
        while label in self.shipped_labels or (label in self.loaded and self.loaded[label] is not entry):
            label, k = f"{entry.label} ({k})", k + 1
        entry.label = label
        self.loaded[label] = entry
        return label

    def close(self) -> None:
        """Stop this user's generations (the tab was closed)."""
        for run in self.runs.values():
            run.stop()
