"""A seeded synthetic population: households of Beijing townships with names, ID numbers and true finances.

One seed gives one population, always: randomness comes from a ``random.Random(seed)`` and a Faker
seeded with the same seed, never from global state, and ages are counted to a given reference date,
never to today. A test that fails on a population can therefore be replayed from its seed.
"""

import datetime
import random
from dataclasses import dataclass
from typing import Sequence

from faker import Faker

from reliefledger.sim.compositions import HEAD, SPOUSE, MemberSketch, draw_composition
from reliefledger.sim.finances import PENSION_AGE, draw_employment, draw_finances, draw_profile
from reliefledger.sim.injected_cases import inject_cases
from reliefledger.sim.records import Household, Person, Population
from reliefledger.sim.resident_ids import draw_birth_date, issue_id_number

TOWNSHIP_NAMES = {
    "110105001": "北京市朝阳区建外街道",
    "110105002": "北京市朝阳区朝外街道",
    "110105003": "北京市朝阳区呼家楼街道",
    "110108001": "北京市海淀区万寿路街道",
    "110108002": "北京市海淀区永定路街道",
    "110108003": "北京市海淀区羊坊店街道",
}
"""The illustrative nine-digit township codes of ``data/regions/110000-beijing.json``, with their names."""

DEFAULT_TOWNSHIPS = tuple(TOWNSHIP_NAMES)
"""Townships households are spread over unless others are given."""

REFERENCE_DATE = datetime.date(2026, 1, 1)
"""The date ages are counted to by default: the start of the policy pack's year."""

HOUSEHOLDS_MAX = 1_000_000
"""Most households one call generates (about 2.5 million persons, held in memory)."""

DISABILITY_KINDS = ("视力残疾", "听力残疾", "言语残疾", "肢体残疾", "智力残疾", "精神残疾")
DISABILITY_GRADES = ("一级", "二级", "三级", "四级")
"""Kinds and grades of a disability certificate (残疾人证), as written in the import file."""


@dataclass
class _Generator:
    """The state shared while one population is drawn."""

    rng: random.Random
    faker: Faker
    reference_date: datetime.date
    issued: set[str]
    """Every ID number issued so far, so that none is issued twice."""


def generate_population(seed: int, households: int, townships: Sequence[str] = DEFAULT_TOWNSHIPS, *,
                        reference_date: datetime.date = REFERENCE_DATE) -> Population:
    """``households`` households spread evenly at random over ``townships``, deterministic for ``seed``.

    About 1 % of households carry an injected case (``injected_cases``).
    """
    if type(households) is not int or not 0 <= households <= HOUSEHOLDS_MAX:
        raise ValueError(f"households must be an integer from 0 to {HOUSEHOLDS_MAX}")
    townships = tuple(townships)
    if not townships or not all(isinstance(code, str) and len(code) == 9 and code.isascii() and code.isdigit() for code in townships):
        raise ValueError("townships must be one or more nine-digit township codes")
    faker = Faker("zh_CN")
    faker.seed_instance(seed)
    generator = _Generator(random.Random(seed), faker, reference_date, set())
    drawn = [_draw_household(generator, index, generator.rng.choice(townships)) for index in range(households)]
    return Population(seed, reference_date, inject_cases(generator.rng, drawn, reference_date))


def _draw_household(generator: _Generator, index: int, township: str) -> Household:
    rng = generator.rng
    profile = draw_profile(rng)
    sketches = draw_composition(rng)
    ages = [sketch.age for sketch in sketches]
    disabilities = [_draw_disability(rng, profile, age) for age in ages]
    disabled = [bool(text) for text in disabilities]
    employed = draw_employment(rng, profile, ages, disabled)
    finances = draw_finances(rng, profile, ages, employed, disabled)
    names = _draw_names(generator.faker, sketches)
    members = []
    for sketch, name, disability, is_employed, person_finances in zip(sketches, names, disabilities, employed, finances, strict=True):
        birth_date = draw_birth_date(rng, sketch.age, generator.reference_date)
        members.append(Person(
            id_number=issue_id_number(rng, township[:6], birth_date, sketch.gender, generator.issued),
            name=name, relation=sketch.relation, birth_date=birth_date, age=sketch.age, gender=sketch.gender,
            disabled=bool(disability), employed=is_employed, finances=person_finances, disability=disability,
        ))
    return Household(f"HB-{index + 1:06d}", township, _draw_address(generator, township), tuple(members), profile)


def _draw_disability(rng: random.Random, profile: str, age: int) -> str:
    """A disability's kind and grade, or ``""``; commoner with age, and among the poor."""
    chance = (0.12 if age >= PENSION_AGE else 0.04) * (2 if profile == "low" else 1)
    return f"{rng.choice(DISABILITY_KINDS)}{rng.choice(DISABILITY_GRADES)}" if rng.random() < chance else ""


def _draw_names(faker: Faker, sketches: list[MemberSketch]) -> list[str]:
    """Names by gender; children carry their father's surname, a head's father the head's."""
    surnames: dict[str, str] = {}
    names = []
    for sketch in sketches:
        surname = surnames.get(sketch.surname_from) or faker.last_name()
        if sketch.relation in (HEAD, SPOUSE):
            surnames["head" if sketch.relation == HEAD else "spouse"] = surname
        given = faker.first_name_male() if sketch.gender == "male" else faker.first_name_female()
        names.append(surname + given)
    return names


def _draw_address(generator: _Generator, township: str) -> str:
    """A residential-compound address in the township: street from Faker, compound, building, unit, flat."""
    rng = generator.rng
    street = generator.faker.street_name()
    return (f"{TOWNSHIP_NAMES.get(township, '')}{street}{rng.randint(1, 200)}号院"
            f"{rng.randint(1, 30)}号楼{rng.randint(1, 6)}单元{rng.randint(1, 28)}{rng.randint(1, 8):02d}室")
