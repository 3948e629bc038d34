"""Measure the frustration scorer: cross-validated ranking quality and throughput.

    .venv/bin/python bench/score_eval.py --data ../shared/datasets [--folds 5] [--lines 100000]
        [--no-teacher] [--threads 2] [--tier-blends 0.8,1]

With the ``[train]`` extra installed, every fit below is the project's full recipe: the
teacher's heads over the frozen encoder (all-MiniLM-L6-v2, :mod:`monitor.scoring.probe`)
are fitted on that fit's training rows only, the teacher labels them and the unlabelled
general text, and the numpy student is distilled from it. The encoder's pooled states
are computed once per text and serve all fits (they hold no labels). ``--no-teacher``
measures the labels-only recipe (the model shipped before issue 16).

Quality uses only the development data, with no peeking: the text model is refitted
on the training folds (the project's own ``train.fit``) and scored on the held-out
fold. Word vectors are learned from unlabelled general text plus each fit's own training
texts. Data sets the model never trains on (tweeteval-emotion, vader-tweets) are scored
by a model fitted on all of x-ci + cesamard. "Unseen domain" figures leave one whole
x-ci brand domain (or one whole data set) out of training. Throughput runs the real
``complaint-monitor score`` command in a subprocess on generated lines, pinned to one
core, beside VADER (vaderSentiment, a dev dependency) in the same run.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.config import ScoringSettings
from monitor.scoring import data as ds
from monitor.scoring.embed import Cooccurrence
from monitor.scoring.text_model import (
    LONG_CHANNELS,
    ModelFileError,
    TextModel,
    TextScore,
    load_model,
    scores_from_outputs,
)
from monitor.scoring.train import (
    AuxHeads,
    TrainParams,
    aux_sets,
    distil_texts,
    fit_aux,
    fit_variants,
    general_cooccurrence,
    subset,
)

# set in main(): the teacher and its unlabelled texts, shared by every fit of a run
TEACHING: dict[str, Any] = {}
ENCODER_BLEND = ScoringSettings().encoder_blend


DEFAULT_SHARE = TrainParams().teacher_blend
# columns: the labels-only recipe (before issue 16), then students with these teacher
# shares (one fit gives them all), then the encoder tier over the default student
SHARES: dict[str, tuple[float, float] | None] = {
    "labels": None,
    "t0.3": (0.3, 0.3),
    f"t{DEFAULT_SHARE:g}": (DEFAULT_SHARE, TrainParams().teacher_blend_severity),
    "t0.7": (0.7, 0.7),
}
TIER_BASE = f"t{DEFAULT_SHARE:g}"


def fit(
    sets: list[ds.Labelled], aux: AuxHeads | None, general: Cooccurrence | None
) -> dict[str, TextModel]:
    """Every variant of one fit; the teacher's heads are fitted on ``sets`` alone."""
    teacher = TEACHING.get("teacher")
    kinds = SHARES if teacher is not None else {"labels": None}
    unlabelled = TEACHING.get("unlabelled", []) if teacher is not None else []
    models = fit_variants(
        sets, TrainParams(), aux, general, teacher, unlabelled, list(kinds.values())
    )
    return dict(zip(kinds, models, strict=True))


def score_all(
    models: dict[str, TextModel], data: ds.Labelled, channel: str | None = None
) -> dict[str, list[TextScore]]:
    """Each variant's TextScores on ``data``, and the encoder tier's where it runs."""
    out = {kind: run(model, data, channel) for kind, model in models.items()}
    if TIER_BASE in models:
        out.update(run_tier(models[TIER_BASE], data, channel))
    return out


def frustration(s: TextScore) -> float:
    """The continuous value behind the text points (model + cues), for ranking."""
    return s.complaint * (0.5 + 0.5 * s.severity / 4.0) * 60 + s.cue_points


def run(model: TextModel, data: ds.Labelled, channel: str | None = None) -> list[TextScore]:
    ch = channel or data.channel
    return model.text_scores(data.texts, [ch] * len(data.texts))


def run_tier(
    model: TextModel, data: ds.Labelled, channel: str | None = None
) -> dict[str, list[TextScore]]:
    """The encoder tier: the fit's own teacher blended into its student.

    ``tier`` at the configured ``encoder_blend``, plus one ``e<share>`` column for each
    share of ``--tier-blends`` (``e1`` is the teacher alone).
    """
    teacher = TEACHING.get("teacher")
    if teacher is None:
        return {}
    chans = [channel or data.channel] * len(data.texts)
    out, normed, toks = model.raw_outputs(data.texts)
    taught = teacher.outputs(data.texts, chans[0] in LONG_CHANNELS)
    shares = {"tier": ENCODER_BLEND} | {f"e{b:g}": b for b in TEACHING.get("blends", [])}
    return {
        kind: scores_from_outputs((1.0 - b) * out + b * taught, data.texts, chans, normed, toks)
        for kind, b in shares.items()
    }


def vader_scores(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return -np.asarray([analyzer.polarity_scores(t)["compound"] for t in texts])


Scored = dict[str, list[TextScore]]


def _put(into: dict[str, list[Any]], key: str, idx: Any, scores: list[TextScore] | None) -> None:
    if scores is None:
        return
    for i, s in zip(idx, scores, strict=True):
        into[key][i] = s


def cross_validate(
    xci: ds.Labelled,
    ces: ds.Labelled,
    folds: int,
    aux: AuxHeads | None,
    general: Cooccurrence | None,
) -> dict[str, Scored]:
    """Out-of-fold TextScores: {kind: {"x"|"c": scores in data order}}."""
    skf = StratifiedKFold(folds, shuffle=True, random_state=0)
    xs = list(skf.split(xci.texts, xci.labels))
    cs = list(skf.split(ces.texts, ces.labels))
    got: dict[str, dict[str, list[Any]]] = {}
    for (x_tr, x_te), (c_tr, c_te) in zip(xs, cs, strict=True):
        models = fit([subset(xci, x_tr), subset(ces, c_tr)], aux, general)
        for part, idx, scored in (
            ("x", x_te, score_all(models, subset(xci, x_te))),
            ("c", c_te, score_all(models, subset(ces, c_te), "email")),
        ):
            for kind, scores in scored.items():
                slot = got.setdefault(
                    kind, {"x": [None] * len(xci.texts), "c": [None] * len(ces.texts)}
                )
                _put(slot, part, idx, scores)
    return got


def unseen_domains(
    xci: ds.Labelled, ces: ds.Labelled, aux: AuxHeads | None, general: Cooccurrence | None
) -> dict[str, dict[str, float]]:
    """Per left-out brand domain, complaint ROC-AUC of the student (and the tier).

    Each fit, its teacher's heads included, trains without the left-out domain and
    without the random tweets that every test set shares.
    """
    out: dict[str, dict[str, float]] = {}
    brands = sorted({g for g in xci.groups if not g.startswith("random")})
    random_idx = [i for i, g in enumerate(xci.groups) if g.startswith("random")]
    rnd = set(random_idx[::6])  # an equal share of random tweets kept out of every fit
    for dom in brands:
        train_idx = [i for i, g in enumerate(xci.groups) if g != dom and i not in rnd]
        test_idx = [i for i, g in enumerate(xci.groups) if g == dom] + sorted(rnd)
        models = fit([subset(xci, train_idx), ces], aux, general)
        test = subset(xci, test_idx)
        for kind, scores in score_all(models, test).items():
            auc = float(roc_auc_score(test.labels, [s.complaint for s in scores]))
            out.setdefault(kind, {})[dom] = auc
    return {k: dict(sorted(v.items())) for k, v in out.items() if v}


def generated_lines(n: int) -> list[str]:
    """Messages written for this benchmark (not taken from the data sets)."""
    rng = random.Random(7)
    opens = ["@acme", "@AcmeHelp", "Hi,", "Hello team,", "", "@acme_support"]
    bodies = [
        "my order still hasn't arrived after {d} days",
        "thanks so much for the quick fix, great service",
        "this is the THIRD time I ask for a refund!!!",
        "can you tell me when the new model is in stock?",
        "you charged me twice and nobody answers my emails",
        "the app keeps crashing since the last update",
        "I have been on hold for {d} hours, unbelievable",
        "love the new design, well done",
        "cancel my account, I'm done with this",
        "where is my parcel? tracking says delivered but nothing here",
    ]
    tails = ["", " #fail", " please help", " :(", " thanks", "?!"]
    lines = []
    for i in range(n):
        text = f"{rng.choice(opens)} {rng.choice(bodies).format(d=rng.randint(2, 30))}"
        text += rng.choice(tails)
        lines.append(json.dumps({"id": i, "text": text.strip(), "channel": "twitter"}))
    return lines


def score_rate(lines: list[str], config: str | None = None, own_venv: bool = False) -> float:
    """Messages per second of the real ``complaint-monitor score``, pinned to one core.

    The project's .venv (the default install, no torch) unless ``own_venv``: this
    interpreter's, which has the [train] extra the encoder tier needs.
    """
    exe = None if own_venv else shutil.which("complaint-monitor", path=str(ROOT / ".venv" / "bin"))
    cmd = [exe] if exe else [sys.executable, "-m", "monitor"]
    if config:
        cmd += ["--config", config]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with src.open("rb") as fin, (Path(tmp) / "out.jsonl").open("w") as fout:
            t0 = time.perf_counter()
            subprocess.run([*pin, *cmd, "score"], stdin=fin, stdout=fout, check=True, env=env)
            rate = len(lines) / (time.perf_counter() - t0)
        out_lines = (Path(tmp) / "out.jsonl").read_text(encoding="utf-8").count("\n")
        assert out_lines == len(lines), f"{out_lines} output lines for {len(lines)} input lines"
    return rate


def throughput(n: int) -> tuple[float, float]:
    lines = generated_lines(n)
    texts = [json.loads(line)["text"] for line in lines]
    ours = score_rate(lines)
    if shutil.which("taskset"):
        os.sched_setaffinity(0, {0})
    t0 = time.perf_counter()
    vader_scores(texts)
    return ours, n / (time.perf_counter() - t0)


def encoder_tier_rate(n: int) -> float | None:
    """Throughput with ``scoring.tier: encoder`` (None when it cannot load here)."""
    from monitor.scoring.encoder_tier import encoder_file
    from monitor.scoring.teacher import teacher_available

    if not teacher_available() or not encoder_file(None).is_file():
        return None
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "config.yaml"
        config.write_text("scoring:\n  tier: encoder\n", encoding="utf-8")
        return score_rate(generated_lines(n), str(config), own_venv=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--lines", type=int, default=200_000)
    ap.add_argument("--skip-unseen", action="store_true")
    ap.add_argument("--only-throughput", action="store_true")
    ap.add_argument("--no-aux", action="store_true", help="without the auxiliary heads")
    ap.add_argument("--no-teacher", action="store_true", help="labels only (the old recipe)")
    ap.add_argument("--threads", type=int, default=1, help="CPU threads for the teacher")
    ap.add_argument(
        "--tier-blends",
        default="",
        help="extra encoder-tier shares to print beside the configured one, e.g. 0.8,1",
    )
    args = ap.parse_args()
    started = time.perf_counter()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    if args.only_throughput:
        report_throughput(args.lines)
        report_model_file()
        return
    TEACHING["blends"] = [float(b) for b in args.tier_blends.split(",") if b.strip()]
    xci, ces = ds.load_xci(args.data), ds.load_cesamard(args.data)
    emo, vt = ds.load_tweeteval_emotion(args.data), ds.load_vader_tweets(args.data)
    # auxiliary heads learn from general text only (no x-ci / cesamard labels): fitted once
    aux = None if args.no_aux else fit_aux(aux_sets(args.data))
    # word vectors: co-occurrences of unlabelled general text, counted once; each fit adds
    # its own training texts (never the held-out fold's)
    general = general_cooccurrence(args.data)
    print(f"recipe: {teaching(args)}")
    if not args.skip_unseen:
        report_transfer(xci, ces, aux, general)
    cv = cross_validate(xci, ces, args.folds, aux, general)
    zero_shot = shipped_zero_shot(emo, vt, list(cv))
    kinds = list(cv)

    def per_kind(value: Any) -> list[float]:
        out = []
        for k in kinds:
            try:
                out.append(float(value(k)))
            except KeyError:  # a zero-shot row whose tier is not shipped
                out.append(float("nan"))
        return out

    rows = [
        (
            "x-ci complaint ROC-AUC (CV)",
            per_kind(lambda k: roc_auc_score(xci.labels, [s.complaint for s in cv[k]["x"]])),
            roc_auc_score(xci.labels, vader_scores(xci.texts)),
            "0.93",
        ),
        (
            "x-ci severity Spearman (CV)",
            per_kind(lambda k: spearmanr(xci.grades, [s.severity for s in cv[k]["x"]])[0]),
            spearmanr(xci.grades, vader_scores(xci.texts))[0],
            "0.72",
        ),
        (
            "x-ci severity Spearman, text points (CV)",
            per_kind(lambda k: spearmanr(xci.grades, [frustration(s) for s in cv[k]["x"]])[0]),
            float("nan"),
            "",
        ),
        (
            "cesamard complaint ROC-AUC as email (CV)",
            per_kind(lambda k: roc_auc_score(ces.labels, [s.complaint for s in cv[k]["c"]])),
            roc_auc_score(ces.labels, vader_scores(ces.texts)),
            "0.95",
        ),
        (
            "tweeteval-emotion anger ROC-AUC (zero-shot)",
            per_kind(
                lambda k: roc_auc_score(emo.labels, [frustration(s) for s in zero_shot[k][0]])
            ),
            roc_auc_score(emo.labels, vader_scores(emo.texts)),
            "",
        ),
        (
            "vader-tweets Spearman with -rating (zero-shot)",
            per_kind(lambda k: -spearmanr(vt.grades, [frustration(s) for s in zero_shot[k][1]])[0]),
            spearmanr(vt.grades, vader_scores(vt.texts))[0] * -1,
            "",
        ),
    ]
    head = " ".join(f"{'encoder' if k == 'tier' else k:>8s}" for k in kinds)
    print(f"\n{'measure':50s} {head} {'VADER':>8s} {'goal':>6s}")
    for name, ours, vader, goal in rows:
        cells = " ".join(f"{v:8.4f}" for v in ours)
        print(f"{name:50s} {cells} {vader:8.4f} {goal:>6s}")
    print(
        f"(zero-shot rows: the shipped model file, which never saw these sets, in the "
        f"{TIER_BASE if len(kinds) > 1 else 'labels'} and encoder columns)"
    )
    print(f"\nquality figures took {time.perf_counter() - started:,.0f} s")
    report_throughput(args.lines)
    report_model_file()


def shipped_zero_shot(
    emo: ds.Labelled, vt: ds.Labelled, kinds: list[str]
) -> dict[str, tuple[list[TextScore], list[TextScore]]]:
    """Sets no fit trains on, scored by the shipped model (and its encoder tier)."""
    from monitor.scoring.tiers import load_text_scorer

    out = {}
    for kind in kinds:
        if kind not in ("tier", TIER_BASE, "labels") or (kind == "labels" and len(kinds) > 1):
            continue
        tier = "encoder" if kind == "tier" else "student"
        try:
            scorer = load_text_scorer(ScoringSettings(tier=tier))
        except ModelFileError as exc:
            print(f"zero-shot, {tier}: {exc}")
            continue
        out[kind] = tuple(scorer.text_scores(d.texts, ["x"] * len(d.texts)) for d in (emo, vt))
    return out  # type: ignore[return-value]


def report_transfer(
    xci: ds.Labelled, ces: ds.Labelled, aux: AuxHeads | None, general: Cooccurrence | None
) -> None:
    print("\nunseen domain: x-ci brand domain left out of training (+ 1/6 of random tweets)")
    per = unseen_domains(xci, ces, aux, general)
    kinds = list(per)
    print(f"  {'complaint ROC-AUC':24s} " + " ".join(f"{k:>8s}" for k in kinds))
    for dom in per["labels"]:
        print(f"  {dom:24s} " + " ".join(f"{per[k][dom]:8.4f}" for k in kinds))
    print(
        f"  {'mean (goal 0.91)':24s} "
        + " ".join(f"{np.mean(list(per[k].values())):8.4f}" for k in kinds)
    )
    print(f"  {'worst':24s} " + " ".join(f"{min(per[k].values()):8.4f}" for k in kinds))
    print("unseen data set: trained on one, scored on the other (complaint ROC-AUC)")
    print(f"  {'':32s} " + " ".join(f"{k:>8s}" for k in kinds))
    for name, train, test, channel in (
        ("cesamard only -> x-ci", ces, xci, "x"),
        ("x-ci only -> cesamard (email)", xci, ces, "email"),
    ):
        scored = score_all(fit([train], aux, general), test, channel)
        cells = [
            f"{roc_auc_score(test.labels, [s.complaint for s in v]):8.4f}" for v in scored.values()
        ]
        print(f"  {name:32s} " + " ".join(cells))


def teaching(args: argparse.Namespace) -> str:
    """Set up the teacher shared by every fit of this run; say which recipe runs."""
    from monitor.scoring.teacher import INSTALL_HINT, teacher_available

    if args.no_teacher:
        return "labels only (--no-teacher)"
    if not teacher_available():
        return f"labels only: {INSTALL_HINT}"
    from monitor.scoring.probe import ProbeParams, ProbeTeacher

    teacher = ProbeTeacher(ProbeParams(threads=args.threads))
    TEACHING["teacher"] = teacher
    TEACHING["unlabelled"] = distil_texts(args.data)
    return f"teacher {teacher.describe()}, distilled over {len(TEACHING['unlabelled'])} texts"


def report_model_file() -> None:
    path = ROOT / "monitor" / "scoring" / "model.npz"
    model = load_model(None)
    print(f"\nshipped model file {path.name}: {path.stat().st_size / 1e6:.2f} MB")
    rows, heads = model.weights.shape
    print(f"  {rows:,} hashed n-gram columns x {heads} heads (fp16, compressed)")
    print(f"  trained with: teacher {model.meta.get('teacher')}")
    top = path.with_name("model.encoder.npz")
    if top.is_file():
        size = top.stat().st_size / 1e6
        print(f"  encoder tier file {top.name}: {size:.2f} MB (the teacher's heads)")


def report_throughput(lines: int) -> None:
    ours, vader = throughput(lines)
    print(f"\nthroughput, one core, {lines} generated lines")
    print(f"  complaint-monitor score (subprocess, incl. start-up): {ours:10,.0f} msg/s")
    print(f"  VADER polarity_scores (in process):                   {vader:10,.0f} msg/s")
    print(f"  student / VADER: {ours / vader:.2f}x")
    tier = encoder_tier_rate(max(200, lines // 200))
    if tier is None:
        print("  encoder tier: not measured (needs the [train] extra and model.encoder.npz)")
    else:
        print(f"  same, scoring.tier encoder (student + encoder):       {tier:10,.0f} msg/s")


if __name__ == "__main__":
    main()
