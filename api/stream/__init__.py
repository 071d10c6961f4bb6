"""The live alarm stream: server-sent events of ``alarm_events``, resumable by event id."""
