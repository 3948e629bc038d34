"""all-MiniLM-L6-v2 written out in PyTorch: the teacher's 6-layer BERT encoder.

Imported only by :func:`monitor.scoring.teacher.build_encoder`, so torch is needed only
where the ``[train]`` extra is installed. Module and attribute names follow the
checkpoint's keys (``encoder.layer.N.attention.self.query``...), so its safetensors file
loads with ``strict=True``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from monitor.scoring.teacher import HEADS, HIDDEN, LAYERS, LN_EPS


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
