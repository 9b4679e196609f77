"""Household compositions: who lives together, by relation, age and gender.

A means test's outcome depends on the number of members and on who can earn, so the mix follows
the households that apply for assistance in a Chinese city: elderly people alone or in couples,
working couples, families with children, single parents, grandparents raising a grandchild whose
parents work elsewhere, and adults living with an elderly parent.
"""

import random
from dataclasses import dataclass

HEAD, SPOUSE, CHILD, GRANDCHILD, PARENT = "户主", "配偶", "子女", "孙子女", "父母"
"""Relations to the head of household, as the import file writes them."""

MEMBERS_MAX = 5
"""Largest household generated."""

AGE_MAX = 95
"""Oldest person generated."""

COMPOSITION_WEIGHTS = {
    "elderly_alone": 14,
    "elderly_couple": 12,
    "single_adult": 11,
    "couple": 13,
    "family": 30,
    "single_parent": 8,
    "grandparent_with_grandchild": 5,
    "adult_with_parent": 7,
}
"""Relative frequency of each composition."""


@dataclass(frozen=True)
class MemberSketch:
    """A member before they have a name or an ID number."""

    relation: str
    age: int
    gender: str
    surname_from: str
    """Whose surname the member carries: ``own`` (drawn afresh), ``head`` or ``spouse``."""


def draw_composition(rng: random.Random) -> list[MemberSketch]:
    """The members of one household, the head first."""
    kinds = list(COMPOSITION_WEIGHTS)
    kind = rng.choices(kinds, weights=[COMPOSITION_WEIGHTS[name] for name in kinds])[0]
    members = _DRAWERS[kind](rng)
    if len(members) > MEMBERS_MAX:
        members = members[:MEMBERS_MAX]
    return members


def _draw_gender(rng: random.Random, male_share: float = 0.5) -> str:
    return "male" if rng.random() < male_share else "female"


def _opposite(gender: str) -> str:
    return "female" if gender == "male" else "male"


def _draw_couple(rng: random.Random, age_min: int, age_max: int) -> list[MemberSketch]:
    head_gender = _draw_gender(rng, 0.7)
    head_age = rng.randint(age_min, age_max)
    spouse_age = min(AGE_MAX, max(age_min - 2, head_age + rng.randint(-5, 3)))
    return [MemberSketch(HEAD, head_age, head_gender, "own"), MemberSketch(SPOUSE, spouse_age, _opposite(head_gender), "own")]


def _father_side(couple: list[MemberSketch]) -> str:
    """Children carry their father's surname."""
    return "head" if couple[0].gender == "male" else "spouse"


def _draw_children(rng: random.Random, youngest_parent_age: int, count: int, relation: str, surname_from: str) -> list[MemberSketch]:
    oldest = max(0, min(youngest_parent_age - 20, 24))
    return [MemberSketch(relation, rng.randint(0, oldest), _draw_gender(rng), surname_from) for _ in range(count)]


def _elderly_alone(rng: random.Random) -> list[MemberSketch]:
    return [MemberSketch(HEAD, rng.randint(60, 92), _draw_gender(rng, 0.4), "own")]


def _elderly_couple(rng: random.Random) -> list[MemberSketch]:
    return _draw_couple(rng, 62, 88)


def _single_adult(rng: random.Random) -> list[MemberSketch]:
    return [MemberSketch(HEAD, rng.randint(22, 59), _draw_gender(rng, 0.55), "own")]


def _couple(rng: random.Random) -> list[MemberSketch]:
    return _draw_couple(rng, 24, 59)


def _family(rng: random.Random) -> list[MemberSketch]:
    couple = _draw_couple(rng, 27, 55)
    children = _draw_children(rng, min(member.age for member in couple), rng.choices((1, 2, 3), (60, 33, 7))[0], CHILD, _father_side(couple))
    members = couple + children
    if len(members) < MEMBERS_MAX and rng.random() < 0.25:
        members.append(_draw_parent(rng, couple[0]))
    return members


def _single_parent(rng: random.Random) -> list[MemberSketch]:
    head = MemberSketch(HEAD, rng.randint(28, 55), _draw_gender(rng, 0.3), "own")
    return [head, *_draw_children(rng, head.age, rng.choices((1, 2), (80, 20))[0], CHILD, "head")]


def _grandparent_with_grandchild(rng: random.Random) -> list[MemberSketch]:
    head = MemberSketch(HEAD, rng.randint(56, 80), _draw_gender(rng, 0.45), "own")
    members = [head]
    if rng.random() < 0.4:
        members.append(MemberSketch(SPOUSE, min(AGE_MAX, head.age + rng.randint(-4, 4)), _opposite(head.gender), "own"))
    surname_from = "head" if head.gender == "male" else "own"
    members.extend(MemberSketch(GRANDCHILD, rng.randint(2, 17), _draw_gender(rng), surname_from) for _ in range(rng.choices((1, 2), (85, 15))[0]))
    return members


def _adult_with_parent(rng: random.Random) -> list[MemberSketch]:
    head = MemberSketch(HEAD, rng.randint(35, 60), _draw_gender(rng, 0.5), "own")
    return [head, _draw_parent(rng, head)]


def _draw_parent(rng: random.Random, head: MemberSketch) -> MemberSketch:
    """A parent of the head; a father carries the head's surname, a mother her own."""
    gender = _draw_gender(rng, 0.35)
    return MemberSketch(PARENT, min(AGE_MAX, head.age + rng.randint(22, 34)), gender, "head" if gender == "male" else "own")


_DRAWERS = {
    "elderly_alone": _elderly_alone,
    "elderly_couple": _elderly_couple,
    "single_adult": _single_adult,
    "couple": _couple,
    "family": _family,
    "single_parent": _single_parent,
    "grandparent_with_grandchild": _grandparent_with_grandchild,
    "adult_with_parent": _adult_with_parent,
}
"""How each composition is drawn."""
