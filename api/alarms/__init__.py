"""Alarms as people see them: scoped lists, detail with evidence and readings, transitions."""
