"""What a CJS partner uses: receive its deliveries into its own store, exactly once, and
acknowledge them; read each case as it stands. Forces and partners read court results with
``ResultsReader``."""

from consumers.casefile import CaseView, DefendantView
from consumers.results import ResultsReader
from consumers.store import PartnerStore, StoreCounts
from consumers.subscriber import Subscriber, SubscriberStats

__all__ = [
    "CaseView",
    "DefendantView",
    "PartnerStore",
    "ResultsReader",
    "StoreCounts",
    "Subscriber",
    "SubscriberStats",
]
