"""Near-duplicate text and terms, without a database."""

from __future__ import annotations

import random

from monitor.incidents import similar
from tests.incidents.support import UNRELATED, outage_text


def test_complaints_about_one_fault_are_closer_to_each_other_than_to_others() -> None:
    rng = random.Random(3)
    outage = [outage_text(i, rng) for i in range(40)]
    sims_same = similar.best_similarities(
        similar.vectorise(outage[20:]), similar.vectorise(outage[:20])
    )
    sims_other = similar.best_similarities(
        similar.vectorise(list(UNRELATED)), similar.vectorise(outage)
    )
    assert sims_same.min() >= similar_threshold()
    assert sims_other.max() < similar_threshold()


def similar_threshold() -> float:
    from monitor.incidents.queries import MIN_SIMILARITY

    return MIN_SIMILARITY


def test_terms_match_whole_words_in_order_any_case_and_spacing() -> None:
    terms = ["E503", "log in", "crash"]
    assert similar.matching_terms("Error e503 when I LOG   IN", terms) == ["E503", "log in"]
    assert similar.matching_terms("it crashed", terms) == []  # whole words only
    assert similar.matching_terms("a crash, again", terms) == ["crash"]


def test_rank_puts_the_closest_first_and_keeps_term_hits() -> None:
    refs = ["The app crashes when I log in, error E503"]
    candidates = [
        "Where is my refund?",
        "app crashes on login with E503 again",
        "nothing works, E503",
    ]
    ranked = similar.rank(candidates, refs, terms=["E503"], min_similarity=0.45)
    assert [r.index for r in ranked] == [1, 2]
    assert ranked[0].similarity > ranked[1].similarity
    assert ranked[1].terms == ("E503",)


def test_clean_terms_trims_and_deduplicates() -> None:
    assert similar.clean_terms([" E503 ", "e503", "log   in", ""]) == ["E503", "log in"]


def test_no_references_means_no_similarity() -> None:
    assert similar.rank(["app crash"], [], min_similarity=0.1) == []
