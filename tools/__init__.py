"""Maintainer tools: the generators of the documents and dashboards derived from the code, and
the standing-data snapshot. Kept out of the runtime packages (nothing there imports them, a
test checks it) because they need what a worker never does: the synthetic force for examples,
the worker's metrics for dashboards, dev-only libraries (grafana-foundation-sdk, PyYAML) and
npm."""
