"""RuleConfig: documented defaults, overrides by site, location and resident, strict checking."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from alerts.rules import RuleConfig
from tests.test_rules_helpers import bracelet, sensor


def test_every_threshold_is_documented():
    undocumented = [
        name for name, info in RuleConfig.model_fields.items() if not (info.description or "")
    ]
    assert undocumented == []


def test_narrowest_override_wins():
    config = RuleConfig(
        sites={"site-1": {"inactivity_waking_h": 3, "utc_offset_min": 420}},
        locations={5: {"heat_fixed_c": 70}},
        residents={100: {"inactivity_waking_h": 2}},
    )
    assert config.for_site("site-1").inactivity_waking_h == 3
    assert config.for_site("other").inactivity_waking_h == 4
    person = config.for_device(bracelet())
    assert (person.inactivity_waking_h, person.utc_offset_min) == (2, 420)
    room = config.for_device(sensor())
    assert (room.heat_fixed_c, room.inactivity_waking_h) == (70, 3)
    assert config.for_device(sensor(location_id=6)).heat_fixed_c == 57


def test_a_misspelt_override_fails_when_the_config_is_built():
    with pytest.raises(ValidationError, match="sites"):
        RuleConfig(sites={"site-1": {"heat_fixd_c": 70}})


def test_overrides_are_validated_and_cannot_nest():
    with pytest.raises(ValidationError):
        RuleConfig(residents={1: {"vitals_sustain_s": -5}})
    with pytest.raises(ValidationError):
        RuleConfig(sites={"s": {"residents": {}}})


def test_inconsistent_levels_are_refused():
    with pytest.raises(ValidationError):
        RuleConfig(gas_low_lel_pct=50, gas_high_lel_pct=25)
    with pytest.raises(ValidationError):
        RuleConfig(battery_low_pct=30, battery_clear_pct=25)
    with pytest.raises(ValidationError):
        RuleConfig(co_time_to_alarm=((50.0, 75.0), (100.0, 80.0)))


def test_config_is_immutable():
    with pytest.raises(ValidationError):
        RuleConfig().heat_fixed_c = 10  # type: ignore[misc]


def test_every_threshold_is_explained_in_the_docs():
    docs = (Path(__file__).parent.parent / "docs" / "rules.md").read_text()
    missing = [name for name in RuleConfig.model_fields if f"`{name}`" not in docs]
    assert missing == []
