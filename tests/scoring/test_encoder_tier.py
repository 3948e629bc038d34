"""The optional encoder tier: numpy forward pass, file reading, blending, config errors."""

from __future__ import annotations

import json
import math
import shutil
import struct
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from monitor.scoring import encoder_tier as tier
from monitor.scoring import load_model
from monitor.scoring.teacher import teacher_available
from tests.cli_helpers import run_cli
from tests.support import missing_service

D = tier.HIDDEN


def random_layer(rng: np.random.Generator, prefix: str) -> dict[str, np.ndarray]:
    shapes = {
        "attention.self.query": (D, D),
        "attention.self.key": (D, D),
        "attention.self.value": (D, D),
        "attention.output.dense": (D, D),
        "intermediate.dense": (4 * D, D),
        "output.dense": (D, 4 * D),
    }
    w: dict[str, np.ndarray] = {}
    for name, shape in shapes.items():
        w[f"{prefix}.{name}.weight"] = (rng.standard_normal(shape) * 0.05).astype(np.float32)
        w[f"{prefix}.{name}.bias"] = np.zeros(shape[0], dtype=np.float32)
    for name in ("attention.output.LayerNorm", "output.LayerNorm"):
        w[f"{prefix}.{name}.weight"] = np.ones(D, dtype=np.float32)
        w[f"{prefix}.{name}.bias"] = np.zeros(D, dtype=np.float32)
    return tier.with_transposed(w)


def test_erf_matches_the_standard_library() -> None:
    xs = np.linspace(-4, 4, 81, dtype=np.float32)
    assert np.allclose(tier._erf(xs), [math.erf(float(x)) for x in xs], atol=2e-6)


def test_padding_does_not_change_the_real_tokens() -> None:
    rng = np.random.default_rng(0)
    w = random_layer(rng, "encoder.layer.0")
    h = rng.standard_normal((1, 5, D)).astype(np.float32)
    alone = tier.layer_forward(h, np.ones((1, 5), dtype=bool), w, "encoder.layer.0")
    padded = np.concatenate([h, rng.standard_normal((1, 3, D)).astype(np.float32)], axis=1)
    keep = np.asarray([[True] * 5 + [False] * 3])
    both = tier.layer_forward(padded, keep, w, "encoder.layer.0")
    assert np.allclose(both[:, :5], alone, atol=1e-4)
    assert not np.allclose(alone, h, atol=1e-2)  # the layer did something


def test_reads_a_safetensors_file(tmp_path: Path) -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.asarray([1.5, -2.0], dtype=np.float16)
    header = {
        "a": {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, a.nbytes]},
        "b": {"dtype": "F16", "shape": [2], "data_offsets": [a.nbytes, a.nbytes + b.nbytes]},
        "__metadata__": {"format": "pt"},
    }
    raw = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + a.tobytes() + b.tobytes())
    got = tier.read_safetensors(path)
    assert set(got) == {"a", "b"}
    assert np.array_equal(got["a"], a) and np.array_equal(got["b"], b)


class ConstantEncoder(tier.EncoderHeads):
    def __init__(self, value: float) -> None:
        self.value = value

    def outputs(self, texts: Sequence[str], long: Sequence[bool]) -> np.ndarray:
        return np.full((len(texts), 4), self.value)


def test_blend_mixes_student_and_encoder_outputs() -> None:
    student = load_model()
    texts = ["@acme you lost my parcel AGAIN!!!", "@acme thanks, lovely"]
    channels = ["x", "x"]
    alone = student.text_scores(texts, channels)
    assert (
        tier.EncoderTier(student, ConstantEncoder(9.0), 0.0).text_scores(texts, channels) == alone
    )
    sure = tier.EncoderTier(student, ConstantEncoder(30.0), 1.0).text_scores(texts, channels)
    assert all(s.complaint > 0.999 for s in sure)
    # the cues come from the rules whatever the tier (their points follow the complaint)
    assert [w for w, _ in sure[0].cues] == [w for w, _ in alone[0].cues] != []


def test_an_unavailable_encoder_tier_is_a_one_line_error(tmp_path: Path) -> None:
    model = tmp_path / "model.npz"
    shutil.copy(Path(tier.__file__).with_name("model.npz"), model)  # no .encoder.npz beside
    config = tmp_path / "config.yaml"
    config.write_text(
        f"scoring:\n  model_path: {json.dumps(str(model))}\n  tier: encoder\n", encoding="utf-8"
    )
    result = run_cli("--config", str(config), "score", input='{"id": 1, "text": "hi"}\n')
    assert result.returncode != 0
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "scoring.tier 'encoder'" in lines[0]


def test_numpy_forward_pass_equals_the_torch_teacher() -> None:
    if not teacher_available():
        missing_service("needs the [train] extra (torch, encoder)")
    import torch

    from monitor.scoring import teacher

    folder = teacher.encoder_dir()
    weights = {
        k: v.astype(np.float32)
        for k, v in tier.read_safetensors(folder / "model.safetensors").items()
    }
    rng = np.random.default_rng(1)
    weights["head.weight"] = rng.standard_normal((4, D)).astype(np.float32)
    weights["head.bias"] = np.zeros(4, dtype=np.float32)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tok.no_padding()
    heads = tier.EncoderHeads(tier.with_transposed(weights), (64, 64), tok)
    texts = ["You charged me twice AGAIN!!! third time I ask", "thanks"]
    ours = heads.outputs(texts, [False, False])
    enc = teacher.build_encoder(folder)
    ids, keep = teacher.padded(teacher.tokenize(texts, 64, folder).ids)
    with torch.no_grad():
        pooled = teacher.mean_pool(enc.run(enc.embeddings(ids), keep, 0, 6), keep).numpy()
    assert np.allclose(ours, pooled @ weights["head.weight"].T, atol=1e-3)


def test_the_shipped_encoder_tier_scores_through_the_command(tmp_path: Path) -> None:
    if not teacher_available():
        missing_service("needs the [train] extra (encoder package)")
    assert tier.encoder_file(None).is_file(), "model.encoder.npz ships beside model.npz"
    config = tmp_path / "config.yaml"
    config.write_text("scoring:\n  tier: encoder\n", encoding="utf-8")
    lines = [
        {"id": 1, "text": "@acme you charged me twice AGAIN!!! third time I ask"},
        {"id": 2, "text": "@acme thanks for the lovely service today"},
    ]
    stdin = "".join(json.dumps(x) + "\n" for x in lines)
    result = run_cli("--config", str(config), "score", input=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == [1, 2]
    assert out[0]["score"] > out[1]["score"]
    assert out[0]["reasons"][0].startswith("text: complaint")
