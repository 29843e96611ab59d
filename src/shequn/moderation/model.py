"""The trained character n-gram classifier: one linear model over hashed char 1-4 grams of the normalized text.

Why this shape: character n-grams need no word segmentation (Chinese has no spaces, and spammers break words on
purpose), hashing needs no vocabulary (the model is one weight vector; a new word costs nothing), and a linear model
is fast, small and explainable: the log-odds is a sum of per-n-gram weights, so the check can name the n-grams that
pushed hardest. ``python -m shequn.moderation.train`` compares candidate learners and writes the shipped one.

A model is stored as bytes (``to_bytes``/``from_bytes``): an ``.npz`` with the non-zero weights as float16, small
enough for package data (``data/model.npz``) and for a database blob (``moderation_models.model``).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shequn.moderation import features


@dataclass
class SpamModel:
    """log-odds(spam) = weights · features(text) + bias, features from :mod:`shequn.moderation.features`."""

    weights: np.ndarray  # dense float32, one per hash bucket
    bias: float
    info: dict[str, Any] = field(default_factory=dict)  # how it was trained and its cross-validated figures

    @property
    def n_bits(self) -> int:
        return int(len(self.weights)).bit_length() - 1

    def log_odds(self, normalized_texts: list[str]) -> np.ndarray:
        """Log-odds that each (normalized) text is spam."""
        return features.dot(normalized_texts, self.weights, any_order=self._sums_exact()) + self.bias

    def log_odds_marked(self, normalized_texts: list[str], marks: np.ndarray | None,
                        n_min: int = 1) -> tuple[np.ndarray, np.ndarray | None]:
        """:meth:`log_odds`, and which texts hold an n-gram in a marked bucket (:func:`features.dot_marked`)."""
        sums, marked = features.dot_marked(normalized_texts, self.weights, marks, n_min, any_order=self._sums_exact())
        return sums + self.bias, marked

    def _sums_exact(self) -> bool:
        """features.sums_exact of the weights, asked once (it reads all 2^20 of them)."""
        exact = self.__dict__.get("_exact_for")
        if exact is None or exact[0] is not self.weights:
            exact = (self.weights, features.sums_exact(self.weights))
            self.__dict__["_exact_for"] = exact
        return exact[1]

    def top_ngrams(self, normalized: str, k: int = 3) -> list[tuple[str, float]]:
        """The n-grams of one text that push hardest towards spam, for the explanation."""
        return features.strongest(normalized[:500], self.weights, k)

    def top_ngrams_many(self, normalized_texts: list[str], k: int = 3) -> list[list[tuple[str, float]]]:
        return features.strongest_many([t[:500] for t in normalized_texts], self.weights, k)

    def to_bytes(self) -> bytes:
        nz = np.flatnonzero(self.weights)
        meta = {"bias": self.bias, "n_features": len(self.weights), "features": "char 1-4 grams, padded, "
                "Fibonacci-hashed (shequn.moderation.features)", "info": self.info}
        buf = io.BytesIO()
        np.savez_compressed(buf, idx=nz.astype(np.int32), w=self.weights[nz].astype(np.float16),
                            meta=np.frombuffer(json.dumps(meta).encode("utf-8"), dtype=np.uint8))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> SpamModel:
        with np.load(io.BytesIO(data)) as z:
            meta = json.loads(z["meta"].tobytes().decode("utf-8"))
            weights = np.zeros(meta["n_features"], dtype=np.float32)
            weights[z["idx"]] = z["w"].astype(np.float32)
        return cls(weights, float(meta["bias"]), meta.get("info", {}))
