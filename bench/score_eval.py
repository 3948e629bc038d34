"""Measure the frustration scorer: cross-validated ranking quality and throughput.

    .venv/bin/python bench/score_eval.py --data ../shared/datasets [--folds 5] [--lines 100000]
        [--no-teacher] [--threads 2]

With the ``[train]`` extra installed, every fit below is the project's full recipe: the
teacher (all-MiniLM-L6-v2) is fine-tuned on that fit's training rows only, labels them
and the unlabelled general text, and the numpy student is distilled from it. One
encoder and its cache of frozen-layer states serve all fits (the cache holds no labels);
each fit fine-tunes a fresh copy from the pretrained weights. ``--no-teacher`` measures
the labels-only recipe (the model shipped before issue 16).

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

import sys
from pathlib import Path

# Python puts this script's folder first on sys.path; bench/ holds modules (queue.py)
# whose names shadow the standard library, which breaks importing scikit-learn.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import argparse
import json
import os
import random
import shutil
import subprocess
import tempfile
import time

import numpy as np
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.scoring import data as ds
from monitor.scoring.embed import Cooccurrence
from monitor.scoring.text_model import TextModel, TextScore, load_model
from monitor.scoring.train import (
    AuxHeads,
    aux_sets,
    fit_aux,
    general_cooccurrence,
    general_texts,
    subset,
)
from monitor.scoring.train import fit as fit_model

# set in main(): the teacher and its unlabelled texts, shared by every fit of a run
TEACHING: dict[str, object] = {}


def fit(sets: list[ds.Labelled], aux: AuxHeads | None, general: Cooccurrence | None) -> TextModel:
    teacher = TEACHING.get("teacher")
    unlabelled = TEACHING.get("unlabelled", [])
    return fit_model(
        sets,
        aux=aux,
        general=general,
        teacher=teacher,  # type: ignore[arg-type]
        unlabelled=unlabelled,  # type: ignore[arg-type]
    )


def frustration(s: TextScore) -> float:
    """The continuous value behind the text points (model + cues), for ranking."""
    return s.complaint * (0.5 + 0.5 * s.severity / 4.0) * 60 + s.cue_points


def run(model: TextModel, data: ds.Labelled, channel: str | None = None) -> list[TextScore]:
    ch = channel or data.channel
    return model.text_scores(data.texts, [ch] * len(data.texts))


def vader_scores(texts: list[str]) -> np.ndarray:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    return -np.asarray([analyzer.polarity_scores(t)["compound"] for t in texts])


def cross_validate(
    xci: ds.Labelled,
    ces: ds.Labelled,
    folds: int,
    aux: AuxHeads | None,
    general: Cooccurrence | None,
) -> dict[str, list[float]]:
    skf = StratifiedKFold(folds, shuffle=True, random_state=0)
    xs = list(skf.split(xci.texts, xci.labels))
    cs = list(skf.split(ces.texts, ces.labels))
    x_scores: list[TextScore | None] = [None] * len(xci.texts)
    c_scores: list[TextScore | None] = [None] * len(ces.texts)
    for (x_tr, x_te), (c_tr, c_te) in zip(xs, cs, strict=True):
        model = fit([subset(xci, x_tr), subset(ces, c_tr)], aux, general)
        for i, s in zip(x_te, run(model, subset(xci, x_te)), strict=True):
            x_scores[i] = s
        for i, s in zip(c_te, run(model, subset(ces, c_te), "email"), strict=True):
            c_scores[i] = s
    xa = [s for s in x_scores if s is not None]
    ca = [s for s in c_scores if s is not None]
    return {
        "x_complaint": [s.complaint for s in xa],
        "x_severity": [s.severity for s in xa],
        "x_frustration": [frustration(s) for s in xa],
        "c_complaint": [s.complaint for s in ca],
    }


def unseen_domains(
    xci: ds.Labelled, ces: ds.Labelled, aux: AuxHeads | None, general: Cooccurrence | None
) -> dict[str, float]:
    out: dict[str, float] = {}
    brands = sorted({g for g in xci.groups if not g.startswith("random")})
    for dom in brands:
        train_idx = [i for i, g in enumerate(xci.groups) if g != dom]
        test_idx = [i for i, g in enumerate(xci.groups) if g == dom]
        # test set: the held-out brand domain plus an equal share of random tweets kept out
        rnd = [i for i in train_idx if xci.groups[i].startswith("random")][::6]
        train_idx = [i for i in train_idx if i not in set(rnd)]
        model = fit([subset(xci, train_idx), ces], aux, general)
        test = subset(xci, test_idx + rnd)
        out[dom] = float(roc_auc_score(test.labels, [s.complaint for s in run(model, test)]))
    return out


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


def throughput(n: int) -> tuple[float, float]:
    lines = generated_lines(n)
    texts = [json.loads(line)["text"] for line in lines]
    exe = shutil.which("complaint-monitor", path=str(ROOT / ".venv" / "bin"))
    cmd = [exe] if exe else [sys.executable, "-m", "monitor"]
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        with src.open("rb") as fin, (Path(tmp) / "out.jsonl").open("w") as fout:
            t0 = time.perf_counter()
            subprocess.run([*pin, *cmd, "score"], stdin=fin, stdout=fout, check=True, env=env)
            ours = n / (time.perf_counter() - t0)
        out_lines = (Path(tmp) / "out.jsonl").read_text(encoding="utf-8").count("\n")
        assert out_lines == n, f"{out_lines} output lines for {n} input lines"
    if pin:
        os.sched_setaffinity(0, {0})
    t0 = time.perf_counter()
    vader_scores(texts)
    return ours, n / (time.perf_counter() - t0)


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
    args = ap.parse_args()
    started = time.perf_counter()
    if args.only_throughput:
        report_throughput(args.lines)
        return
    xci, ces = ds.load_xci(args.data), ds.load_cesamard(args.data)
    emo, vt = ds.load_tweeteval_emotion(args.data), ds.load_vader_tweets(args.data)
    # auxiliary heads learn from general text only (no x-ci / cesamard labels): fitted once
    aux = None if args.no_aux else fit_aux(aux_sets(args.data))
    # word vectors: co-occurrences of unlabelled general text, counted once; each fit adds
    # its own training texts (never the held-out fold's)
    general = general_cooccurrence(args.data)
    print(f"recipe: {teaching(args)}")
    cv = cross_validate(xci, ces, args.folds, aux, general)
    full = fit([xci, ces], aux, general)
    emo_s = [frustration(s) for s in run(full, emo)]
    vt_s = [frustration(s) for s in run(full, vt)]
    rows = [
        (
            "x-ci complaint ROC-AUC (CV)",
            roc_auc_score(xci.labels, cv["x_complaint"]),
            roc_auc_score(xci.labels, vader_scores(xci.texts)),
            "0.93",
        ),
        (
            "x-ci severity Spearman (CV)",
            spearmanr(xci.grades, cv["x_severity"])[0],
            spearmanr(xci.grades, vader_scores(xci.texts))[0],
            "0.72",
        ),
        (
            "x-ci severity Spearman, text points (CV)",
            spearmanr(xci.grades, cv["x_frustration"])[0],
            float("nan"),
            "",
        ),
        (
            "cesamard complaint ROC-AUC as email (CV)",
            roc_auc_score(ces.labels, cv["c_complaint"]),
            roc_auc_score(ces.labels, vader_scores(ces.texts)),
            "0.95",
        ),
        (
            "tweeteval-emotion anger ROC-AUC (zero-shot)",
            roc_auc_score(emo.labels, emo_s),
            roc_auc_score(emo.labels, vader_scores(emo.texts)),
            "",
        ),
        (
            "vader-tweets Spearman with -rating (zero-shot)",
            spearmanr(vt.grades, vt_s)[0] * -1,
            spearmanr(vt.grades, vader_scores(vt.texts))[0] * -1,
            "",
        ),
    ]
    print(f"\n{'measure':50s} {'ours':>8s} {'VADER':>8s} {'goal':>6s}")
    for name, ours, vader, goal in rows:
        print(f"{name:50s} {ours:8.4f} {vader:8.4f} {goal:>6s}")
    if not args.skip_unseen:
        print("\nunseen domain: x-ci brand domain left out of training (+ 1/6 of random tweets)")
        per = unseen_domains(xci, ces, aux, general)
        for dom, auc in per.items():
            print(f"  {dom:12s} complaint ROC-AUC {auc:.4f}")
        print(f"  {'mean':12s} complaint ROC-AUC {np.mean(list(per.values())):.4f}   goal 0.91")
        worst = min(per, key=per.__getitem__)
        print(f"  {'worst':12s} complaint ROC-AUC {per[worst]:.4f}   ({worst})")
        only_ces = fit([ces], aux, general)
        only_x = fit([xci], aux, general)
        print("unseen data set: trained on one, scored on the other")
        print(
            f"  cesamard only -> x-ci      ROC-AUC "
            f"{roc_auc_score(xci.labels, [s.complaint for s in run(only_ces, xci)]):.4f}"
        )
        print(
            f"  x-ci only -> cesamard (email) ROC-AUC "
            f"{roc_auc_score(ces.labels, [s.complaint for s in run(only_x, ces, 'email')]):.4f}"
        )
    print(f"\nquality figures took {time.perf_counter() - started:,.0f} s")
    report_throughput(args.lines)
    report_model_file()


def teaching(args: argparse.Namespace) -> str:
    """Set up the teacher shared by every fit of this run; say which recipe runs."""
    from monitor.scoring.teacher import INSTALL_HINT, teacher_available

    if args.no_teacher:
        return "labels only (--no-teacher)"
    if not teacher_available():
        return f"labels only: {INSTALL_HINT}"
    from monitor.scoring.distil import FineTunedTeacher, TeacherParams

    teacher = FineTunedTeacher(TeacherParams(threads=args.threads))
    TEACHING["teacher"] = teacher
    TEACHING["unlabelled"] = general_texts(args.data)
    return f"teacher {teacher.describe()}, distilled over {len(TEACHING['unlabelled'])} texts"


def report_model_file() -> None:
    path = ROOT / "monitor" / "scoring" / "model.npz"
    model = load_model(None)
    print(f"\nshipped model file {path.name}: {path.stat().st_size / 1e6:.2f} MB")
    rows, heads = model.weights.shape
    print(f"  {rows:,} hashed n-gram columns x {heads} heads (fp16, compressed)")
    print(f"  trained with: teacher {model.meta.get('teacher')}")


def report_throughput(lines: int) -> None:
    ours, vader = throughput(lines)
    print(f"\nthroughput, one core, {lines} generated lines")
    print(f"  complaint-monitor score (subprocess, incl. start-up): {ours:10,.0f} msg/s")
    print(f"  VADER polarity_scores (in process):                   {vader:10,.0f} msg/s")


if __name__ == "__main__":
    main()
