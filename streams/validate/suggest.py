"""The known offence codes nearest an unknown one, for OFFENCE_UNKNOWN's hint.

difflib's similarity ratio (standard library) ranks the chargeable codes of the standing data;
ties go to the code sharing the longest beginning with the one given, because offence codes
are built left to right (act, year, section): ``TH68011`` is nearer ``TH68010`` than
``TH78011``. A unit test holds the ranking to a few typical typing mistakes.
"""

from __future__ import annotations

from collections import Counter
from difflib import SequenceMatcher
from functools import lru_cache

from streams.reference import StandingData

CUTOFF = 0.6
"""Least similarity (0-1) worth suggesting."""
COUNT = 3
SHORTLIST = 300
"""Codes compared in full with difflib, picked by shared character pairs."""

_BY_STANDING: dict[int, tuple[StandingData, OffenceSuggester]] = {}
"""Suggesters by snapshot identity; the snapshot is kept with it so its id is never reused."""


class OffenceSuggester:
    """Nearest chargeable codes of one standing-data snapshot; answers are cached per code."""

    def __init__(self, codes: list[str]) -> None:
        self.codes = sorted(codes)
        self._by_pair: dict[str, list[str]] = {}
        self._by_act: dict[str, list[str]] = {}
        for code in self.codes:
            self._by_act.setdefault(code[:2], []).append(code)
            for pair in _pairs(code):
                self._by_pair.setdefault(pair, []).append(code)
        self.nearest = lru_cache(maxsize=1024)(self._nearest)

    @classmethod
    def of(cls, standing: StandingData) -> OffenceSuggester:
        """The suggester of ``standing``, built once (the list has some 30,000 codes)."""
        entry = _BY_STANDING.get(id(standing))
        if entry is None:
            entry = (standing, cls([o.code for o in standing.offences() if o.chargeable]))
            _BY_STANDING[id(standing)] = entry
        return entry[1]

    def _nearest(self, code: str) -> tuple[str, ...]:
        matcher = SequenceMatcher()
        matcher.set_seq2(code)
        scored: list[tuple[float, int, str]] = []
        for candidate in self._shortlist(code):
            matcher.set_seq1(candidate)
            if (
                matcher.real_quick_ratio() >= CUTOFF
                and matcher.quick_ratio() >= CUTOFF
                and (ratio := matcher.ratio()) >= CUTOFF
            ):
                scored.append((-ratio, -_shared_start(code, candidate), candidate))
        return tuple(c for _, _, c in sorted(scored)[:COUNT])

    def _shortlist(self, code: str) -> list[str]:
        """The codes of the same act (first two characters) and those sharing most character
        pairs with ``code``: a cheap first cut, so a hostile event's unknown codes cost
        milliseconds rather than a scan of every code."""
        shared: Counter[str] = Counter()
        for pair in set(_pairs(code)):
            shared.update(self._by_pair.get(pair, ()))
        same_act = self._by_act.get(code[:2], [])[: SHORTLIST * 4]
        return list(dict.fromkeys([*same_act, *(c for c, _ in shared.most_common(SHORTLIST))]))


def _shared_start(a: str, b: str) -> int:
    """How many leading characters two codes share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _pairs(code: str) -> list[str]:
    """Adjacent character pairs of a code (its bigrams)."""
    return [code[i : i + 2] for i in range(len(code) - 1)]
