"""The HTTP API of Anxin: access, scope enforcement, alarms, live stream and registry."""
