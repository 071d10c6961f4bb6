"""Safety and health rules: pure, stateful, deterministic detection of alarms from readings.

``RuleEngine(RuleConfig())`` takes observations and the clock and answers with triggers; the
rules, their defaults and how to override them are in ``docs/rules.md``.
"""

from alerts.rules.config import RuleConfig
from alerts.rules.engine import RuleEngine

__all__ = ["RuleConfig", "RuleEngine"]
