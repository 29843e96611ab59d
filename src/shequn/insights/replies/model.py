"""The shipped reply model: a small feed-forward network over pairwise features, as plain JSON.

Why JSON weights and a numpy forward pass: the file is small, readable and diffable, loading needs
no pickle (nothing executable ships), and scoring a block of messages is a few matrix products.
``train.py`` writes it; ``infer.py`` reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np

from shequn.insights.replies.features import FEATURES, K

MODEL_FILE = "model.json"


class ModelError(ValueError):
    """The model file does not fit this code (other features, other window)."""


@dataclass
class ReplyModel:
    mean: np.ndarray
    scale: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]
    #: a second parent is added when its probability reaches this (a message may answer two)
    second_parent: float = 1.1
    meta: dict = field(default_factory=dict)
    #: "softmax": scores are normalised over each message's candidates (listwise training);
    #: "sigmoid": each candidate is scored on its own (pairwise training)
    output: str = "softmax"

    def __post_init__(self) -> None:
        # standardisation folded into the first layer: one matrix product less per block
        W, b = self.layers[0]
        inv = (1.0 / self.scale).astype(np.float32)
        self._first = ((W * inv[:, None]).astype(np.float32), (b - (self.mean * inv) @ W).astype(np.float32))

    def scores(self, X: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """Scores (n, K+1) for every candidate (probabilities; invalid candidates get -1)."""
        n, c, f = X.shape
        Xt = X.transpose(2, 0, 1)  # features.block_features builds X feature-major: no copy here
        rows = Xt.reshape(f, n * c).T if Xt.flags.c_contiguous else X.reshape(n * c, f)
        W, b = self._first
        h = rows.astype(np.float32, copy=False) @ W
        h += b
        for W, b in self.layers[1:]:
            np.maximum(h, 0.0, out=h)
            h = h @ W
            h += b
        s = h[:, 0].reshape(n, c)
        if self.output == "sigmoid":
            p = 1.0 / (1.0 + np.exp(-np.clip(s, -30, 30)))
        else:
            s = np.where(valid, s, -np.inf)
            p = np.exp(s - s.max(axis=1, keepdims=True))
            p /= p.sum(axis=1, keepdims=True)
        p[~valid] = -1.0
        return p

    def to_json(self) -> dict:
        return {
            "format": "shequn-reply-mlp/1",
            "features": list(FEATURES),
            "window": K,
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "layers": [{"W": np.round(W.astype(np.float64), 6).tolist(), "b": np.round(b.astype(np.float64), 6).tolist()}
                       for W, b in self.layers],
            "second_parent": self.second_parent,
            "output": self.output,
            "meta": self.meta,
        }

    @classmethod
    def from_json(cls, doc: dict) -> "ReplyModel":
        if doc.get("format") != "shequn-reply-mlp/1":
            raise ModelError(f"unknown reply model format {doc.get('format')!r}")
        if doc.get("features") != list(FEATURES) or doc.get("window") != K:
            raise ModelError("reply model was trained with other features or window; retrain it: "
                             "python -m shequn.insights.replies.train")
        layers = [(np.asarray(L["W"], dtype=np.float32), np.asarray(L["b"], dtype=np.float32)) for L in doc["layers"]]
        return cls(np.asarray(doc["mean"], dtype=np.float32), np.asarray(doc["scale"], dtype=np.float32), layers,
                   float(doc.get("second_parent", 1.1)), doc.get("meta", {}), doc.get("output", "sigmoid"))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")


def load_model(path: Path | str | None = None) -> ReplyModel:
    """The model at ``path``, or the one shipped inside the package."""
    if path is not None:
        return ReplyModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))
    return _shipped()


@lru_cache(maxsize=1)
def _shipped() -> ReplyModel:
    raw = resources.files("shequn.insights.replies").joinpath(MODEL_FILE).read_text(encoding="utf-8")
    return ReplyModel.from_json(json.loads(raw))
