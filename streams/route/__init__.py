"""Routing and minimisation: each recipient gets its own topic and its own projection."""

from streams.route.policy import Policy, RecipientPolicy, load_policy
from streams.route.project import project
from streams.route.recipients import recipients

__all__ = ["Policy", "RecipientPolicy", "load_policy", "project", "recipients"]
