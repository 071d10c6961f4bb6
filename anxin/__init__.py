"""Anxin shared package: settings, database access, the MQTT wire contract and the CLI."""

__version__ = "0.1.0"
