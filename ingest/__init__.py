"""Ingest: durable, idempotent storage of every MQTT reading (at-least-once, ack after commit)."""
