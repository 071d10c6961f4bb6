"""Grafana dashboards as code: definitions, their JSON files, a query check and provisioning.

See docs/dashboards.md.
"""
