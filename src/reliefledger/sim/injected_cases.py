"""Known cases planted in a population, so that later fraud checks have a ground truth to find.

About 1 % of households, chosen by the population's seed, get one case each, taking the cases of
``records.INJECTED_CASES`` in turn:

``hidden_assets``
    A low-income household, eligible on what it would declare, whose head holds a second bank
    account large enough to put the household's deposits over the limit. Only the bank's rows
    show it; a means test that asks the bank finds it ineligible.
``enrolled_twice``
    One member's ``duplicate_of`` names a household in another township that also claims them.
    Only the flag is set: the second enrolment is not materialised (ID numbers stay unique here).
``deceased``
    The oldest member of a household of two or more has a ``death_date`` before the reference
    date but is still listed; the agencies' rows about them are left as they were.
"""

import dataclasses
import datetime
import random

from reliefledger.sim.finances import DEPOSITS_LIMIT_FEN_PER_PERSON, INTEREST_BASIS_POINTS_PER_YEAR
from reliefledger.sim.records import INJECTED_CASES, Household, Person

INJECTED_SHARE_PERCENT = 1
"""Share of households given an injected case."""


def inject_cases(rng: random.Random, households: list[Household], reference_date: datetime.date) -> tuple[Household, ...]:
    """``households`` with the injected cases applied, in the same order."""
    result = list(households)
    candidates = {case: [index for index, household in enumerate(result) if _is_candidate(case, household)] for case in INJECTED_CASES}
    numbers_by_township: dict[str, list[str]] = {}
    for household in result:
        numbers_by_township.setdefault(household.township, []).append(household.number)
    taken: set[int] = set()
    for ordinal in range(round(len(result) * INJECTED_SHARE_PERCENT / 100)):
        case = INJECTED_CASES[ordinal % len(INJECTED_CASES)]
        free = [index for index in candidates[case] if index not in taken]
        if case == "enrolled_twice" and len(numbers_by_township) < 2:
            free = []  # no other township to be enrolled in
        if not free:
            continue
        index = rng.choice(free)
        taken.add(index)
        household = result[index]
        if case == "hidden_assets":
            result[index] = _hide_assets(rng, household)
        elif case == "enrolled_twice":
            result[index] = _enrol_twice(rng, household, numbers_by_township)
        else:
            result[index] = _let_die(rng, household, reference_date)
    return tuple(result)


def _is_candidate(case: str, household: Household) -> bool:
    if case == "hidden_assets":
        return household.economic_profile == "low"
    if case == "deceased":
        return len(household.members) >= 2
    return True


def _hide_assets(rng: random.Random, household: Household) -> Household:
    head = household.members[0]
    declared = head.finances.deposits_fen_by_bank or (rng.randint(50_000, 500_000),)
    household_deposits = sum(member.finances.deposits_fen for member in household.members[1:]) + sum(declared)
    hidden = DEPOSITS_LIMIT_FEN_PER_PERSON * len(household.members) - household_deposits + rng.randint(1_000_000, 30_000_000)
    banks = (*declared, hidden)
    finances = dataclasses.replace(
        head.finances, deposits_fen_by_bank=banks,
        interest_fen_by_bank=tuple(deposit * INTEREST_BASIS_POINTS_PER_YEAR // 120_000 for deposit in banks))
    return _replace_member(household, 0, dataclasses.replace(head, finances=finances), "hidden_assets")


def _enrol_twice(rng: random.Random, household: Household, numbers_by_township: dict[str, list[str]]) -> Household:
    township = rng.choice(sorted(code for code in numbers_by_township if code != household.township))
    position = rng.randrange(len(household.members))
    member = dataclasses.replace(household.members[position], duplicate_of=rng.choice(numbers_by_township[township]))
    return _replace_member(household, position, member, "enrolled_twice")


def _let_die(rng: random.Random, household: Household, reference_date: datetime.date) -> Household:
    position = max(range(len(household.members)), key=lambda index: household.members[index].age)
    member = household.members[position]
    death_date = max(member.birth_date + datetime.timedelta(days=1), reference_date - datetime.timedelta(days=rng.randint(30, 720)))
    return _replace_member(household, position, dataclasses.replace(member, death_date=death_date), "deceased")


def _replace_member(household: Household, position: int, member: Person, case: str) -> Household:
    members = household.members[:position] + (member,) + household.members[position + 1:]
    return dataclasses.replace(household, members=members, injected_case=case)
