"""`quarry models check`: does a reranker separate relevant from irrelevant passages?

A handful of built-in (query, relevant, irrelevant) triples in plain English across
everyday topics. A trained reranker of any family ranks the relevant passage first in
nearly all of them; a random or wrongly scored one does about as well as a coin. This
is a smoke check a person can run on a file they downloaded, not a benchmark."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from indexer.models.rerank import Scores

CHECK_TRIPLES: tuple[tuple[str, str, str], ...] = (
    (
        "how do vaccines train the immune system",
        "Vaccines expose the immune system to a harmless piece or weakened form of a pathogen, so it makes "
        "antibodies and memory cells that recognise the real infection later.",
        "The bakery on the corner sells sourdough loaves every morning and closes early on Sundays.",
    ),
    (
        "what causes the seasons on Earth",
        "Seasons happen because Earth's axis is tilted about 23 degrees, so each hemisphere gets more direct "
        "sunlight for part of the year and less for the rest.",
        "To reset the router, hold the small button on the back for ten seconds until the lights flash.",
    ),
    (
        "how to remove a red wine stain from a carpet",
        "Blot the red wine stain with a clean cloth, then dab it with cold water and a little dish soap; "
        "do not rub, or the wine spreads into the carpet fibres.",
        "The treaty ended the war in 1648 and redrew the borders of several European states.",
    ),
    (
        "symptoms of iron deficiency",
        "Iron deficiency commonly causes tiredness, pale skin, shortness of breath and cold hands and feet, "
        "because the blood carries less oxygen.",
        "Our quarterly revenue grew by four percent, driven mostly by subscriptions in Europe.",
    ),
    (
        "when was the printing press invented",
        "Johannes Gutenberg built his movable-type printing press in Mainz around 1440, and printed his "
        "famous Bible in the 1450s.",
        "Water the tomato plants at the base in the morning so the leaves stay dry.",
    ),
    (
        "how does a heat pump warm a house",
        "A heat pump moves heat from the outside air or ground into the house by compressing a refrigerant, "
        "which delivers more heat energy than the electricity it uses.",
        "The striker scored twice in the second half and the team moved up to third in the league.",
    ),
)

MIN_SEPARATED = 5
"""Triples out of 6 a reranker must order right to pass: one miss is allowed for a
model with a narrow domain; a coin gets 5 or more 11 % of the time."""


class Scorer(Protocol):
    def score(self, query: str, documents: list[str]) -> Scores: ...


@dataclass(frozen=True, slots=True)
class CheckReport:
    separated: int
    """Triples where the relevant passage scored above the irrelevant one."""
    total: int
    margins: tuple[float, ...]
    """Relevant minus irrelevant score (0..1 scale) per triple."""

    @property
    def passed(self) -> bool:
        return self.separated >= MIN_SEPARATED

    def summary(self) -> str:
        mean = sum(self.margins) / len(self.margins)
        verdict = "separates relevant from irrelevant passages" if self.passed else "does NOT separate relevant from irrelevant passages"
        return f"{verdict}: {self.separated} of {self.total} pairs ordered right, mean margin {mean:+.3f}"


def check_reranker(reranker: Scorer) -> CheckReport:
    """Score every built-in triple with ``reranker`` (anything with ``score(query,
    documents) -> Scores``). Raises what ``score`` raises."""
    margins = []
    for query, relevant, irrelevant in CHECK_TRIPLES:
        scores = reranker.score(query, [relevant, irrelevant]).scores
        margins.append(scores[0] - scores[1])
    separated = sum(margin > 0 for margin in margins)
    return CheckReport(separated, len(margins), tuple(margins))
