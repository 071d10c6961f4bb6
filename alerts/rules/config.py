"""Every threshold the rules use, with its default and where that default comes from.

One ``RuleConfig`` holds the platform defaults and, in ``sites``, ``locations`` and ``residents``,
the overrides of a site, a room or a person (applied in that order, the narrowest last). Each
override is validated when the config is built, so a misspelt key fails at start-up rather than
silently at the first reading. ``docs/rules.md`` explains the choices at length.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from alerts.models import DeviceContext

_OVERRIDE_SECTIONS = ("sites", "locations", "residents")


class RuleConfig(BaseModel):
    """Thresholds of the safety and health rules; see ``docs/rules.md`` for the reasoning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Local time -----------------------------------------------------------------------------
    utc_offset_min: int = Field(
        480,
        ge=-14 * 60,
        le=14 * 60,
        description="Local time of the site as minutes east of UTC: China Standard Time (UTC+8) "
        "by default, which has no daylight saving, so a fixed offset is exact.",
    )

    # SOS --------------------------------------------------------------------------------------
    sos_late_after_s: float = Field(
        600,
        gt=0,
        description="An SOS that reaches the platform this long after it was pressed (a bracelet "
        "out of range catching up) is raised marked late with its own time, so staff know the "
        "press is not happening now (ANXIN_ALERTS_LATE_AFTER_S).",
    )

    # Vitals -----------------------------------------------------------------------------------
    vitals_sustain_s: float = Field(
        60,
        gt=0,
        description="Heart rate or SpO2 must stay outside the resident's limits this long (and "
        "over at least vitals_min_readings readings) before it alarms: single-sample artefacts "
        "from a loose strap or motion are the main source of wrist-sensor false alarms.",
    )
    vitals_min_readings: int = Field(
        2, ge=1, description="Consecutive out-of-range readings needed besides the duration."
    )
    vitals_max_gap_s: float = Field(
        600,
        gt=0,
        description="Two readings further apart than this do not form one run: what happened "
        "in between is unknown.",
    )
    vitals_clear_s: float = Field(
        120, gt=0, description="Back inside the limits (with hysteresis) this long clears."
    )
    hr_hysteresis_bpm: int = Field(
        5, ge=0, description="To clear, heart rate must be this far inside the limits."
    )
    spo2_hysteresis_pct: int = Field(
        2, ge=0, description="To clear, SpO2 must be this far above the resident's lower limit."
    )

    # Living alone -----------------------------------------------------------------------------
    activity_motion_g: float = Field(
        0.05,
        ge=0,
        description="Wrist motion (g RMS) above which the wearer counts as active: lying or "
        "sitting still gives under 0.05 g, the same boundary the fall watch uses.",
    )
    inactivity_waking_h: float = Field(
        4, gt=0, description="No activity for this many waking hours alarms."
    )
    inactivity_any_h: float = Field(
        12,
        gt=0,
        description="No activity for this many hours at all (night included) alarms: a long "
        "night's sleep is 8-10 h.",
    )
    waking_start_min: int = Field(
        7 * 60, ge=0, lt=1440, description="Start of waking hours, local minute of day."
    )
    waking_end_min: int = Field(
        22 * 60, ge=0, lt=1440, description="End of waking hours, local minute of day."
    )
    usual_wake_min: int = Field(
        8 * 60,
        ge=0,
        lt=1440,
        description="A resident's usual wake time when none has been learned (local minute).",
    )
    morning_margin_min: int = Field(
        120, ge=0, description="No activity by usual wake time plus this margin alarms."
    )
    morning_early_min: int = Field(
        180,
        ge=0,
        description="Activity this long before the usual wake time already counts as the "
        "morning's (an early riser is up, not missing).",
    )

    # Fire -------------------------------------------------------------------------------------
    smoke_alarm_pct_per_m: float = Field(
        10.0,
        gt=0,
        description="Smoke obscuration (%/m) that alarms: 0.46 dB/m, about 3 %/ft, inside the "
        "UL 268 listed range (0.5-4 %/ft) and well above the EN 54-7 sensitivity floor "
        "(0.05 dB/m, about 1.1 %/m).",
    )
    smoke_clear_pct_per_m: float = Field(
        5.0, ge=0, description="Smoke must fall below this (%/m) before the sensor is clear."
    )
    heat_fixed_c: float = Field(
        57.0,
        description="Fixed heat alarm (°C): EN 54-5 class A1 static response lies in 54-65 °C "
        "above a maximum application temperature of 50 °C; 57 °C is also the UL 521 "
        "'ordinary' rating (135 °F).",
    )
    heat_hysteresis_c: float = Field(
        5.0, ge=0, description="Temperature must fall this far below the fixed alarm to clear."
    )
    ror_c_per_min: float = Field(
        8.3,
        gt=0,
        description="Rate-of-rise alarm (°C/min): 15 °F/min, the usual rating of rate-of-rise "
        "heat detectors (UL 521 / NFPA 72), so that the EN 54-5 class A1 test rise of "
        "10 K/min (response due within 4 min 20 s) is caught with margin.",
    )
    ror_window_s: float = Field(
        60, gt=0, description="The rate is the least-squares slope over this window."
    )
    ror_min_span_s: float = Field(
        30,
        gt=0,
        description="The window's readings must span this long before a slope is trusted.",
    )
    ror_hold_s: float = Field(
        30,
        ge=0,
        description="The slope must stay at or above the alarm rate this long: one noisy "
        "sample cannot fake a sustained rise.",
    )
    cold_storage_ror_min_c: float = Field(
        0.0,
        description="In cold-storage rooms rate-of-rise only uses readings at or above this "
        "temperature: door openings and defrost cycles swing sub-zero air fast, and that is "
        "not fire.",
    )
    fire_confirm_readings: int = Field(
        2,
        ge=1,
        description="Consecutive readings over the smoke or fixed-heat threshold that put a "
        "sensor in alarm: a single corrupted sample is not a fire.",
    )
    fire_second_sensor_s: float = Field(
        120,
        gt=0,
        description="A second sensor in the same room in alarm within this time confirms the "
        "fire and makes it critical.",
    )
    fire_clear_hold_s: float = Field(
        300, gt=0, description="Every sensor of the room clear this long clears the fire alarm."
    )

    # Combustible gas --------------------------------------------------------------------------
    gas_low_lel_pct: float = Field(
        25.0,
        gt=0,
        le=100,
        description="Low gas alarm (%LEL): GB 15322.1 and EN 60079-29-1 practice set the low "
        "alarm at or below 25 %LEL.",
    )
    gas_high_lel_pct: float = Field(
        50.0, gt=0, le=100, description="High gas alarm (%LEL), critical: at or below 50 %LEL."
    )
    gas_hysteresis_lel_pct: float = Field(
        5.0, ge=0, description="A level is left only this far (%LEL) below its threshold."
    )
    gas_confirm_readings: int = Field(
        2, ge=1, description="Consecutive readings at a level before it is entered."
    )
    gas_clear_hold_s: float = Field(
        30, gt=0, description="Below the low level (with hysteresis) this long clears."
    )

    # Carbon monoxide --------------------------------------------------------------------------
    co_time_to_alarm: tuple[tuple[float, float], ...] = Field(
        ((50.0, 75.0), (100.0, 25.0), (300.0, 1.5)),
        min_length=2,
        description="(ppm, minutes) points of the time to alarm at a steady concentration, "
        "interpolated and extrapolated log-log. The defaults sit inside the EN 50291-1 windows "
        "(50 ppm: 60-90 min, 100 ppm: 10-40 min, 300 ppm: within 3 min) and give 169 min at "
        "30 ppm (no alarm before 120 min).",
    )
    co_floor_ppm: float = Field(
        25.0,
        gt=0,
        description="Below this concentration exposure does not accumulate and the dose "
        "recovers: the WHO 1-hour guideline is 35 mg/m3 (about 30 ppm).",
    )
    co_recovery_half_life_min: float = Field(
        60.0,
        gt=0,
        description="Half-life of the accumulated dose in clean air: fast enough that an alarm "
        "does not latch for hours after ventilation, slow enough that repeated short "
        "exposures add up (blood COHb itself halves in about 4-5 h on room air).",
    )
    co_max_gap_s: float = Field(
        300,
        gt=0,
        description="A reading stands for the concentration until the next one, for at most "
        "this long: beyond it the sensor is silent, which is the offline rule's business.",
    )
    co_clear_hold_s: float = Field(
        600, gt=0, description="Concentration below the floor this long clears the CO alarm."
    )
    co_critical_ppm: float = Field(
        300.0,
        gt=0,
        description="An alarm at or above this concentration is critical: the top EN 50291 "
        "test level, where headache and nausea set in within an hour or two.",
    )

    # Device health ----------------------------------------------------------------------------
    offline_missed_heartbeats: float = Field(
        3,
        gt=0,
        description="Silent for this many of the device's own heartbeat intervals is offline: "
        "one lost message is normal on Wi-Fi or NB-IoT, three in a row is not.",
    )
    battery_low_pct: int = Field(15, ge=0, le=100, description="Battery at or below this alarms.")
    battery_clear_pct: int = Field(25, ge=0, le=100, description="Battery at or above this clears.")
    not_worn_min: float = Field(
        30,
        gt=0,
        description="A bracelet off the wrist this long (and not charging) alarms: it protects "
        "nobody while it lies on a table.",
    )
    charging_rise_pct: int = Field(
        2,
        ge=1,
        description="A bracelet off the wrist whose battery has risen this much is charging, "
        "even if it never sent a 'charging' event.",
    )
    self_test_max_days: float = Field(
        31,
        gt=0,
        description="Fire and gas sensors must pass a self-test at least this often (GB 50116 / "
        "GB 25201 style monthly testing); registration starts the clock.",
    )
    self_test_device_kinds: tuple[str, ...] = Field(
        ("smoke", "heat", "gas", "co", "multi"),
        description="Device kinds that must self-test.",
    )

    # Cold storage -----------------------------------------------------------------------------
    cold_storage_max_c: float = Field(
        -10.0,
        description="Cold-storage air above this (°C) alarms. The default suits long-term "
        "frozen storage (set points -15 to -20 °C): microbial growth stops below about "
        "-10 °C. Short-term mortuary rooms kept at 2-4 °C (WHO/PAHO guidance) should "
        "override it per location, e.g. to 6 °C.",
    )
    cold_storage_sustain_min: float = Field(
        15,
        gt=0,
        description="Above the limit this long alarms: a door opened to move a body warms the "
        "air for a few minutes, a failed compressor does not recover.",
    )
    cold_storage_hysteresis_c: float = Field(
        2.0, ge=0, description="To clear, the air must be this far below the limit."
    )
    cold_storage_clear_min: float = Field(
        5, gt=0, description="Below the limit (with hysteresis) this long clears."
    )

    # Overrides --------------------------------------------------------------------------------
    sites: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per site uid: field name to value."
    )
    locations: dict[int, dict[str, Any]] = Field(
        default_factory=dict, description="Per location id: field name to value."
    )
    residents: dict[int, dict[str, Any]] = Field(
        default_factory=dict, description="Per resident id: field name to value."
    )

    @model_validator(mode="after")
    def _consistent(self) -> RuleConfig:
        if self.gas_low_lel_pct >= self.gas_high_lel_pct:
            raise ValueError("gas_low_lel_pct must be below gas_high_lel_pct")
        if self.battery_clear_pct <= self.battery_low_pct:
            raise ValueError("battery_clear_pct must be above battery_low_pct")
        if self.smoke_clear_pct_per_m > self.smoke_alarm_pct_per_m:
            raise ValueError("smoke_clear_pct_per_m must not exceed smoke_alarm_pct_per_m")
        if self.ror_min_span_s > self.ror_window_s:
            raise ValueError("ror_min_span_s must not exceed ror_window_s")
        points = self.co_time_to_alarm
        for (ppm_a, min_a), (ppm_b, min_b) in zip(points, points[1:], strict=False):
            if not (0 < ppm_a < ppm_b and min_a > min_b > 0):
                raise ValueError("co_time_to_alarm: ppm must rise and minutes fall, all > 0")
        for section in _OVERRIDE_SECTIONS:
            for key, changes in getattr(self, section).items():
                try:
                    self.with_overrides(changes)
                except ValueError as exc:
                    raise ValueError(f"{section}[{key!r}]: {exc}") from None
        return self

    def with_overrides(self, changes: dict[str, Any]) -> RuleConfig:
        """A copy with ``changes`` applied and validated (overrides cannot nest)."""
        if not changes:
            return self
        nested = set(changes) & set(_OVERRIDE_SECTIONS)
        if nested:
            raise ValueError(f"overrides cannot contain {sorted(nested)}")
        base = self.model_dump(exclude=set(_OVERRIDE_SECTIONS))
        return RuleConfig.model_validate({**base, **changes})

    def for_site(self, site_uid: str) -> RuleConfig:
        """The defaults with the site's overrides."""
        return self.with_overrides(self.sites.get(site_uid, {}))

    def for_device(self, ctx: DeviceContext) -> RuleConfig:
        """Site, then location, then resident overrides: the narrowest scope wins."""
        changes: dict[str, Any] = dict(self.sites.get(ctx.site_uid, {}))
        if ctx.location_id is not None:
            changes.update(self.locations.get(ctx.location_id, {}))
        if ctx.resident_id is not None:
            changes.update(self.residents.get(ctx.resident_id, {}))
        return self.with_overrides(changes)
