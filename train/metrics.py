"""The training log: ``metrics.jsonl`` (one JSON object per event) and TensorBoard when installed."""

from __future__ import annotations

import json
import time
from pathlib import Path


class MetricsLog:
    """Appends ``{"event": ..., "time": unix seconds, **fields}`` lines to ``path``.

    Numeric fields of ``train`` and ``eval`` events also go to TensorBoard (``tag = event/field``)
    when the ``tensorboard`` package is installed, into ``tensorboard_dir``.
    """

    def __init__(self, path: Path, tensorboard_dir: Path, fresh: bool):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "w" if fresh else "a", encoding="utf-8")
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # tensorboard is optional
            self.tensorboard = None
        else:
            self.tensorboard = SummaryWriter(str(tensorboard_dir))

    def log(self, event: str, **fields) -> None:
        self.file.write(json.dumps({"event": event, "time": round(time.time(), 3), **fields}) + "\n")
        self.file.flush()
        if self.tensorboard is not None and event in ("train", "eval") and "step" in fields:
            for name, value in fields.items():
                if name != "step" and isinstance(value, (int, float)):
                    self.tensorboard.add_scalar(f"{event}/{name}", value, fields["step"])

    def close(self) -> None:
        self.file.close()
        if self.tensorboard is not None:
            self.tensorboard.close()
