"""True finances of a household's members, drawn to give a means test varied outcomes.

Each household is first given an economic profile (``records.ECONOMIC_PROFILES``); its counted
income per person is then drawn within the profile's band and shared out among the members who can
have income (wages for the employed, a pension from 60, business income for an owner, support from
relatives), so a profile's outcome is deliberate rather than a matter of luck. The figures mirror
Beijing's policy as shipped in ``data/policy/cn-mainland-2026.toml``; the constants below repeat the
ones the bands are drawn around.
"""

import math
import random
from typing import Any

from reliefledger.sim.records import Finances

DIBAO_STANDARD_FEN = 117_000
"""Beijing's dibao standard from July 2020, per person per month (the policy pack's ``standards``)."""

WAGE_DEDUCTION_PERCENT = 20
"""Share of wages deducted as work expenses before wages count (the pack's ``wages`` category)."""

DEPOSITS_LIMIT_FEN_PER_PERSON = 2_808_000
"""Deposits allowed per person from July 2020 (the pack's ``asset_limits``)."""

INTEREST_BASIS_POINTS_PER_YEAR = 150
"""Interest on deposits, 1.5 % a year: the property income a bank row reports each month."""

WORKING_AGE_MIN, PENSION_AGE = 18, 60
"""Ages from which a person may work, and from which every person draws a pension."""

PROFILE_WEIGHTS = {"low": 30, "near": 10, "above": 45, "assets": 15}
"""Share of households of each economic profile, in percent."""

COUNTED_INCOME_FEN_PER_PERSON = {"low": (30_000, 105_000), "near": (105_000, 135_000), "assets": (40_000, 125_000), "above": (150_000, 1_200_000)}
"""Band of counted monthly income per person each profile is drawn in; ``near`` straddles the standard."""

EMPLOYMENT_SHARE = {"low": 0.3, "near": 0.65, "assets": 0.6, "above": 0.92}
"""Chance that a working-age adult (not a student, not disabled) is employed."""

SHARE_FEN_MIN = 20_000
"""Least counted income of a source that has any: nobody works or draws a pension for nothing."""

DISQUALIFIER_WEIGHTS = {"vehicle": 40, "property": 25, "business": 20, "deposits": 15}
"""Which asset disqualifies an ``assets`` household."""


def draw_profile(rng: random.Random) -> str:
    """The economic profile of one household."""
    return rng.choices(list(PROFILE_WEIGHTS), weights=list(PROFILE_WEIGHTS.values()))[0]


def draw_employment(rng: random.Random, profile: str, ages: list[int], disabled: list[bool]) -> list[bool]:
    """Who works. Outside the ``low`` profile a household without a pensioner has at least one worker."""
    employed = []
    for age, is_disabled in zip(ages, disabled, strict=True):
        share = EMPLOYMENT_SHARE[profile] * (0.4 if is_disabled else 1.0) * (0.4 if age <= 22 else 1.0)
        employed.append(WORKING_AGE_MIN <= age < PENSION_AGE and rng.random() < share)
    working_age = [index for index, age in enumerate(ages) if WORKING_AGE_MIN <= age < PENSION_AGE]
    if profile != "low" and not any(employed) and max(ages) < PENSION_AGE and working_age:
        employed[working_age[0]] = True
    return employed


def draw_finances(rng: random.Random, profile: str, ages: list[int], employed: list[bool], disabled: list[bool]) -> list[Finances]:
    """The finances of each member (the head first) of a household of ``profile``."""
    members = len(ages)
    figures: list[dict[str, Any]] = [{} for _ in ages]
    disqualifier = rng.choices(list(DISQUALIFIER_WEIGHTS), weights=list(DISQUALIFIER_WEIGHTS.values()))[0] if profile == "assets" else None
    owner = _draw_assets(rng, profile, disqualifier, ages, employed, figures)
    _draw_deposits(rng, profile, disqualifier, ages, figures)
    interest_fen = sum(sum(entry.get("interest_fen_by_bank", ())) for entry in figures)
    low, high = COUNTED_INCOME_FEN_PER_PERSON[profile]
    budget_fen = max(0, _draw_spread(rng, low, high) * members - interest_fen)
    _share_income(rng, profile, budget_fen, ages, employed, owner, figures)
    _draw_other_income(rng, profile, disabled, figures)
    _draw_auxiliary(rng, profile, ages, employed, disabled, figures)
    _draw_employment_history(profile, ages, employed, figures)
    return [Finances(**entry) for entry in figures]


def _draw_spread(rng: random.Random, low: int, high: int) -> int:
    """Uniform for narrow bands; log-uniform for wide ones, where small amounts are commoner."""
    if high <= 3 * low:
        return rng.randint(low, high)
    return int(math.exp(rng.uniform(math.log(low), math.log(high))))


def _draw_assets(rng: random.Random, profile: str, disqualifier: str | None, ages: list[int], employed: list[bool],
                 figures: list[dict[str, Any]]) -> int | None:
    """Vehicles, properties and businesses; answers the index of the business owner, if any."""
    if profile == "above":
        vehicle, second_property, business = rng.random() < 0.45, rng.random() < 0.2, rng.random() < 0.08
    else:
        vehicle, second_property, business = disqualifier == "vehicle", disqualifier == "property", disqualifier == "business"
    if vehicle:
        figures[0]["vehicles"] = 2 if rng.random() < 0.15 else 1
    if second_property:
        figures[0]["properties_beyond_residence"] = 2 if rng.random() < 0.2 else 1
    if not business:
        return None
    working = [index for index, age in enumerate(ages) if WORKING_AGE_MIN <= age < PENSION_AGE]
    owner = next((index for index in working if employed[index]), working[0] if working else 0)
    figures[owner]["business_registrations"] = 2 if rng.random() < 0.15 else 1
    return owner


def _draw_deposits(rng: random.Random, profile: str, disqualifier: str | None, ages: list[int], figures: list[dict[str, Any]]) -> None:
    """Deposits held by one or two adults, each at one or two banks, and the interest on them."""
    members = len(ages)
    if disqualifier == "deposits":
        total = DEPOSITS_LIMIT_FEN_PER_PERSON * members + rng.randint(500_000, 20_000_000)
    elif profile == "above":
        total = _draw_spread(rng, 2_000_000, 60_000_000) * members
    elif profile == "low" and rng.random() < 0.3:
        total = 0
    else:
        low, high = {"low": (0, 1_200_000), "near": (200_000, 2_000_000), "assets": (0, 2_000_000)}[profile]
        total = rng.randint(low, high) * members
    adults = [index for index, age in enumerate(ages[:2]) if age >= WORKING_AGE_MIN]
    holders = adults[:1] if len(adults) == 1 or rng.random() < 0.6 else adults
    for holder, amount in zip(holders, _split(rng, total, len(holders))):  # fewer amounts than holders when small
        banks = _split(rng, amount, 2 if rng.random() < 0.3 else 1)
        figures[holder]["deposits_fen_by_bank"] = tuple(banks)
        figures[holder]["interest_fen_by_bank"] = tuple(deposit * INTEREST_BASIS_POINTS_PER_YEAR // 120_000 for deposit in banks)


def _split(rng: random.Random, total: int, parts: int) -> list[int]:
    """``total`` in ``parts`` positive amounts (fewer when it is too small to split; none when 0)."""
    if total <= 0:
        return []
    if parts == 1 or total < 2 * parts:
        return [total]
    first = int(total * rng.uniform(0.4, 0.8))
    return [first, total - first]


def _share_income(rng: random.Random, profile: str, budget_fen: int, ages: list[int], employed: list[bool], owner: int | None,
                  figures: list[dict[str, Any]]) -> None:
    """Share the counted income out among the members' sources, by random weights."""
    sources = []
    for index, age in enumerate(ages):
        if age >= PENSION_AGE:
            sources.append((index, "pension_fen"))
        if index == owner:
            sources.append((index, "business_income_fen"))
        elif employed[index]:
            sources.append((index, "wages_fen"))
    if profile != "above" and rng.random() < 0.25:
        sources.append((0, "family_support_fen"))
    if not sources:
        return
    weights = [rng.uniform(0.5, 1.5) for _ in sources]
    for (index, kind), weight in zip(sources, weights, strict=True):
        share = max(SHARE_FEN_MIN, int(budget_fen * weight / sum(weights)))
        if kind == "wages_fen":
            wages = share * 100 // (100 - WAGE_DEDUCTION_PERCENT)
            figures[index]["wages_fen_by_employer"] = tuple(_split(rng, wages, 2 if rng.random() < 0.25 else 1))
        else:
            figures[index][kind] = share


def _draw_other_income(rng: random.Random, profile: str, disabled: list[bool], figures: list[dict[str, Any]]) -> None:
    """Income that is not counted: disability allowances, and assistance some poor households already get."""
    for index, is_disabled in enumerate(disabled):
        if is_disabled and rng.random() < 0.85:
            figures[index]["disability_allowance_fen"] = rng.randint(20_000, 60_000)
    if profile == "low" and rng.random() < 0.2:
        figures[0]["social_assistance_fen"] = rng.randint(30_000, 150_000)


def _draw_auxiliary(rng: random.Random, profile: str, ages: list[int], employed: list[bool], disabled: list[bool],
                    figures: list[dict[str, Any]]) -> None:
    """Signals that do not feed the means test: medical expenses, provident fund, utility arrears."""
    formal = profile in ("above", "near")
    for index, age in enumerate(ages):
        frail = age >= PENSION_AGE or disabled[index]
        if rng.random() < (0.8 if frail else 0.45):
            catastrophic = frail and rng.random() < 0.05
            figures[index]["medical_expenses_fen"] = rng.randint(3_000_000, 20_000_000) if catastrophic else _draw_spread(rng, 20_000, 1_500_000)
        if employed[index] and figures[index].get("wages_fen_by_employer") and rng.random() < (0.85 if formal else 0.3):
            figures[index]["provident_fund_fen"] = _draw_spread(rng, 500_000, 40_000_000) if formal else _draw_spread(rng, 100_000, 3_000_000)
    if rng.random() < {"low": 0.15, "near": 0.08, "assets": 0.04, "above": 0.02}[profile]:
        figures[0]["utility_arrears_fen"] = rng.randint(5_000, 150_000)


JOB_LOSS_SHARE = {"low": 0.45, "near": 0.35, "assets": 0.2, "above": 0.1}
"""Chance that a working-age adult without work lost a job during the last year."""
REGISTERED_SHARE = 0.6
"""Chance that a working-age adult without work is registered as unemployed (not all register)."""


def _draw_employment_history(profile: str, ages: list[int], employed: list[bool], figures: list[dict[str, Any]]) -> None:
    """Last year's wages and registered unemployment. Drawn from a generator of their own, seeded
    by what was drawn before, so that adding them left every earlier figure of every population
    exactly as it was."""
    rng = random.Random(repr((profile, ages, employed, figures)))
    for index, age in enumerate(ages):
        current = sum(figures[index].get("wages_fen_by_employer", ()))
        if employed[index]:
            figures[index]["wages_last_year_fen"] = max(0, round(current * rng.uniform(0.9, 1.1)))
        elif WORKING_AGE_MIN <= age < PENSION_AGE:
            if rng.random() < JOB_LOSS_SHARE[profile]:
                figures[index]["wages_last_year_fen"] = _draw_spread(rng, 200_000, 800_000)
            if rng.random() < REGISTERED_SHARE:
                figures[index]["unemployment_registrations"] = 1
