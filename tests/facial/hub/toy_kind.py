"""A network that is not part of the project, registered in a test to show new kinds plug into facial.hub."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np


class ToyNet:
    def __init__(self, seed: int = 0, weights: np.ndarray | None = None):
        self.seed = seed
        self.weights = weights if weights is not None else np.random.default_rng(seed).normal(size=(4, 3)).astype(np.float32)

    def save_pretrained(self, folder) -> Path:
        from safetensors.numpy import save_file

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_file({"weights": self.weights}, str(folder / "model.safetensors"))
        (folder / "config.json").write_text(json.dumps({"model_type": "toy-net", "seed": self.seed,
                                                        "provenance": {"val_loss": 0.25}}))
        return folder

    @classmethod
    def from_pretrained(cls, folder) -> "ToyNet":
        from safetensors.numpy import load_file

        folder = Path(folder)
        cfg = json.loads((folder / "config.json").read_text())
        return cls(cfg["seed"], load_file(str(folder / "model.safetensors"))["weights"])
