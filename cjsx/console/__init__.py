"""The exceptions console: force staff and operators see, correct and resubmit rejected events.

A small Starlette application with server-rendered pages (Jinja2, GOV.UK Frontend, htmx). It
reads the rejected topic with its own broker principal into its own store, and publishes an
approved correction through the force's normal ingest path (``producers.Publisher``). See
``docs/console.md`` for the roles and the correction lifecycle.
"""

from cjsx.console.app import create_app
from cjsx.console.settings import ConsoleSettings

__all__ = ["ConsoleSettings", "create_app"]
