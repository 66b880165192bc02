"""Prometheus configuration and alert rules for the exchange, and a local server runner."""
