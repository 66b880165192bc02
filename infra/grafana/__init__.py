"""Grafana dashboards as code (``python -m infra.grafana.dashboards``) and their provisioning."""
