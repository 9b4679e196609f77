"""Policy packs: the rules of social assistance for one jurisdiction, as data.

Every figure that policy sets (standards, deadlines, income rules, asset limits, the public
notice) lives in a pack, never in code, so that another region, another year or another country
is another pack. The node reads a pack file at its edge (``reliefledger.policy_files``) and hands
the ledger the parsed ``PolicyPack``; the pack's digest (suite hash of its canonical JSON) is what
a chain records, so every peer can prove it applied the same rules.

The rule functions at the end of the module are pure and integer-only: amounts are fen (分),
percentages are integers, time is block time in milliseconds. Failures are ``PolicyError`` (a
``LedgerInputError``) with one of these stable codes:

* ``invalid_policy_pack``: the pack document is malformed; the message starts with the path of
  the offending field, e.g. ``programmes[2].deadlines.county_decision: must be a positive integer``;
* ``invalid_household_facts``: household facts are malformed or name an unknown income category;
* ``unknown_programme``: a programme id the pack does not define;
* ``no_means_test``: eligibility was asked of a programme the pack gives no means test;
* ``no_standard`` / ``no_asset_limits``: no standard or asset limit applies to that region and date.
"""

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from reliefledger.ledger.encoding import check_canonical_value, encode_canonical
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.genesis import IDENTIFIER_PATTERN
from reliefledger.ledger.regions import get_ancestors, is_region_code
from reliefledger.ledger.suites import Suite
from reliefledger.ledger.working_days import (
    CALENDAR_DATES_MAX,
    UTC_OFFSET_MINUTES_MAX,
    UTC_OFFSET_MINUTES_MIN,
    WorkingDayCalendar,
    build_calendar,
    format_date,
    get_local_day,
    parse_date,
)

# Vocabularies -------------------------------------------------------------------------------------

PROGRAMME_TIERS = ("basic", "special", "emergency")
"""Basic living (dibao, tekun), special (medical, education, housing, employment), emergency."""

BENEFIT_KINDS = ("cash", "in_kind", "service")
"""What a programme gives: money, goods, or services such as care visits and social work."""

BENEFIT_METHODS = ("gap", "full_standard")
"""How a means-tested monthly benefit is computed: the gap to the standard, or the full standard."""

DEADLINE_NAMES = (
    "investigation_start",
    "data_check_start",
    "county_decision",
    "whole_process",
    "whole_process_special",
    "refusal_notice",
)
"""The working-day deadlines every programme states (see ``Deadlines``)."""

HOUSEHOLD_FLAGS = ("able_to_work_with_unstable_income", "unable_to_work", "without_able_supporter")
"""Yes/no facts about a household that rules may require (``MeansTest.required_flags``)."""

PUBLIC_NOTICE_FIELDS_ALLOWED = ("name", "household_size", "amount_fen")
"""The only facts a public notice may show: name, household size and amount (data minimisation)."""

FALLBACK_CATEGORY_ID = "other"
"""The recipient category of a household that matches no other; every pack must define it."""

# Reason codes of an eligibility refusal, in the order they are reported.
REASON_INCOME = "income_at_or_above_standard"
REASON_DEPOSITS = "deposits_above_limit"
REASON_VEHICLES = "vehicles_above_limit"
REASON_PROPERTIES = "properties_above_limit"
REASON_BUSINESS_REGISTRATIONS = "business_registrations_above_limit"
REASON_FLAG_PREFIX = "requires_"
"""A missing required flag is reported as ``requires_<flag>``, e.g. ``requires_unable_to_work``."""

# Bounds -------------------------------------------------------------------------------------------

AMOUNT_FEN_MAX = 10**12
"""Largest amount any pack or household fact may state (ten billion yuan)."""

HOUSEHOLD_MEMBERS_MAX = 64
"""Most members of one household."""

PROGRAMMES_MAX = 64
"""Most programmes in one pack."""

CATEGORIES_MAX = 64
"""Most recipient or income categories in one pack."""

POLICY_ENTRIES_MAX = 4096
"""Most standards, and most asset-limit entries, in one pack."""

DEADLINE_WORKING_DAYS_MAX = 366
"""Longest deadline a pack may set, in working days (the limit of ``add_working_days``)."""

REVIEW_MONTHS_MAX = 60
"""Longest interval between periodic reviews."""

PUBLIC_NOTICE_DAYS_MAX = 60
"""Longest public notice period, in days."""

MULTIPLIER_PERCENT_MAX = 1000
"""Largest multiple of a standard a recipient category may use, in percent."""

NAME_CHARACTERS_MAX = 200
"""Longest name of a pack, programme or category."""

TEXT_CHARACTERS_MAX = 2000
"""Longest free text (``about``, ``source``)."""

VERSION_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
"""A pack version such as ``cn-mainland-2026.1``."""

CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
"""An ISO 4217 currency code such as ``CNY``."""


class PolicyError(LedgerInputError):
    """A policy pack, household facts or a rule lookup that cannot be answered (see ``code``)."""

    code = "invalid_policy_pack"


def _pack_error(path: str, message: str) -> PolicyError:
    return PolicyError(f"{path}: {message}", code="invalid_policy_pack")


def _facts_error(path: str, message: str) -> PolicyError:
    return PolicyError(f"{path}: {message}", code="invalid_household_facts")


# The pack -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadlines:
    """Statutory periods of a programme's case, in working days (``ledger.working_days``)."""

    investigation_start: int
    """The township starts the household investigation within this many days of the application."""

    data_check_start: int
    """The county starts the data check (means test) within this many days of the request."""

    county_decision: int
    """The county decides within this many days of receiving the township's opinion."""

    whole_process: int
    """The whole case, application to decision."""

    whole_process_special: int
    """The whole case in special circumstances (extended with a recorded reason)."""

    refusal_notice: int
    """A refusal, with its reasons, reaches the applicant within this many days of the decision."""


@dataclass(frozen=True)
class FastPath:
    """Emergency help paid first and registered afterwards (先行救助)."""

    township_ceiling_fen: int
    """Most a township may pay on its own authority in one case before the county approves."""


@dataclass(frozen=True)
class MeansTest:
    """How a programme tests income and assets, and computes a monthly cash benefit."""

    income_standard_programme: str
    """Programme whose standard per-capita counted income must stay below (dibao for tekun)."""

    benefit_method: str
    """``gap``: standard x members - counted income; ``full_standard``: standard x members."""

    required_flags: tuple[str, ...]
    """Household flags that must all be true (tekun: unable to work, without able supporter)."""


@dataclass(frozen=True)
class Programme:
    """One assistance programme and how its cases run."""

    id: str
    """Stable identifier, e.g. ``dibao``, ``tekun``, ``temporary``."""

    name_zh: str
    """Chinese name, e.g. 最低生活保障."""

    name_en: str
    """English name."""

    tier: str
    """One of ``PROGRAMME_TIERS``."""

    deciding_department: str
    """Organisation kind or id that decides cases, e.g. ``civil-affairs``, ``medical-security``."""

    benefit_kind: str
    """One of ``BENEFIT_KINDS``."""

    deadlines: Deadlines
    """Statutory periods in working days."""

    review_months_stable: int | None
    """Months between periodic reviews of a stable household (basic tier only)."""

    review_months_unstable: int | None
    """Months between reviews of a household able to work whose income is unstable (basic only)."""

    fast_path: FastPath | None
    """Pay-first rules (emergency tier only), or ``None``."""

    means_test: MeansTest | None
    """Income and asset test with a computed benefit, or ``None`` when cases are assessed."""


@dataclass(frozen=True)
class RecipientCategory:
    """A class of household that programmes and monitoring refer to (dibao, low-income edge...)."""

    id: str
    """Stable identifier, e.g. ``low_income_edge``."""

    name_zh: str
    """Chinese name."""

    name_en: str
    """English name."""

    programme: str | None
    """Without a multiplier: recipients of this programme. With one: the standard it multiplies."""

    multiplier_percent: int | None
    """Per-capita income below this percentage of ``programme``'s standard places a household
    here (low-income edge: 150) when it is not eligible; ``None`` for other categories."""


@dataclass(frozen=True)
class Standard:
    """An assistance standard: amount per person per month, for a region, from a date."""

    programme: str
    """Programme the standard belongs to."""

    region: str
    """Region code: applies there and everywhere within, unless a more specific region has one."""

    amount_fen_per_person_month: int
    """The standard, in fen per person per month."""

    effective_from: str
    """First local date (``YYYY-MM-DD``) it applies."""

    effective_from_day: int
    """``effective_from`` as a day number, for comparisons."""

    source: str | None
    """Where the figure comes from."""


@dataclass(frozen=True)
class IncomeCategory:
    """A kind of income and how the means test counts it."""

    id: str
    """Stable identifier, e.g. ``wages``, ``disability_allowance``."""

    name_zh: str
    """Chinese name."""

    name_en: str
    """English name."""

    counted: bool
    """False for incomes the policy excludes entirely (disability allowances, merit awards)."""

    deduction_percent: int
    """Share of a counted income deducted before counting (work expenses on wages), 0..100."""


@dataclass(frozen=True)
class AssetLimits:
    """Asset limits of a household for a region, from a date."""

    region: str
    """Region code, looked up like a standard: most specific region, then latest date."""

    effective_from: str
    """First local date (``YYYY-MM-DD``) the limits apply."""

    effective_from_day: int
    """``effective_from`` as a day number."""

    deposits_fen_per_person: int
    """Most deposits (and other monetary assets) per household member, in fen."""

    vehicles_max: int
    """Most motor vehicles the household may own."""

    properties_beyond_residence_max: int
    """Most properties beyond the one the household lives in."""

    business_registrations_max: int
    """Most business registrations the household may hold."""

    source: str | None
    """Where the figures come from."""


@dataclass(frozen=True)
class PublicNotice:
    """The public notice of a proposed award at village or community level."""

    days: int
    """How long the notice stays up (7)."""

    fields: tuple[str, ...]
    """What it shows: a subset of ``PUBLIC_NOTICE_FIELDS_ALLOWED``."""


@dataclass(frozen=True)
class PolicyPack:
    """A parsed, checked policy pack."""

    version: str
    """Version of the pack, e.g. ``cn-mainland-2026.1``."""

    name: str
    """Human-readable name."""

    currency: str
    """ISO 4217 code of all amounts (their unit is the minor unit: fen for CNY)."""

    utc_offset_minutes: int
    """Local time minus UTC: dates in the pack are local dates in this zone."""

    calendar: WorkingDayCalendar
    """Working days for deadlines (holidays and make-up days, in the pack's zone)."""

    programmes: tuple[Programme, ...]
    """Programmes in pack order."""

    recipient_categories: tuple[RecipientCategory, ...]
    """Recipient categories in pack order (the order in which they are tried)."""

    standards: tuple[Standard, ...]
    """Assistance standards in pack order."""

    income_categories: tuple[IncomeCategory, ...]
    """Income categories in pack order."""

    asset_limits: tuple[AssetLimits, ...]
    """Asset limits in pack order."""

    public_notice: PublicNotice
    """The public notice rules."""

    document: dict[str, Any] = field(repr=False, compare=False)
    """The document as read, for hashing (``compute_pack_digest``)."""

    programme_index: Mapping[str, Programme] = field(default_factory=dict, repr=False, compare=False)
    """Programmes by id (derived from ``programmes``)."""

    income_category_index: Mapping[str, IncomeCategory] = field(default_factory=dict, repr=False, compare=False)
    """Income categories by id (derived from ``income_categories``)."""

    standard_index: Mapping[tuple[str, str], tuple[Standard, ...]] = field(default_factory=dict, repr=False, compare=False)
    """Standards by (programme, region), sorted by effective date."""

    asset_limit_index: Mapping[str, tuple[AssetLimits, ...]] = field(default_factory=dict, repr=False, compare=False)
    """Asset limits by region, sorted by effective date."""


def compute_pack_digest(suite: Suite, pack_document: dict[str, Any]) -> bytes:
    """The pack's identity on a chain: the suite hash of its canonical JSON document."""
    return suite.compute_hash(encode_canonical(pack_document))


# Parsing ------------------------------------------------------------------------------------------

PACK_FIELDS_REQUIRED = (
    "version", "name", "currency", "utc_offset_minutes", "calendar", "programmes",
    "recipient_categories", "standards", "income_categories", "asset_limits", "public_notice",
)
PACK_FIELDS_OPTIONAL = ("about",)


def parse_policy_pack(document: Any) -> PolicyPack:
    """Check a policy pack document and return it parsed.

    Every error is a ``PolicyError`` (code ``invalid_policy_pack``) whose message starts with the
    path of the offending field. Values must be JSON: integers only (no floats anywhere: amounts
    are fen, rates are integer percentages), dates as ``"YYYY-MM-DD"`` strings.
    """
    if type(document) is not dict:
        raise _pack_error("(pack)", "must be an object")
    _check_json_types(document, "")
    try:
        check_canonical_value(document)
    except LedgerInputError as error:
        raise _pack_error("(pack)", str(error)) from None
    _require_fields(document, "", PACK_FIELDS_REQUIRED, PACK_FIELDS_OPTIONAL)
    version = _require_string(document, "version", "", VERSION_PATTERN, "a version such as cn-mainland-2026.1")
    name = _require_text(document, "name", "", NAME_CHARACTERS_MAX)
    currency = _require_string(document, "currency", "", CURRENCY_PATTERN, "an ISO 4217 code such as CNY")
    if "about" in document:
        _require_text(document, "about", "", TEXT_CHARACTERS_MAX)
    utc_offset_minutes = _require_integer(document, "utc_offset_minutes", "", UTC_OFFSET_MINUTES_MIN, UTC_OFFSET_MINUTES_MAX)
    calendar = _parse_calendar(document, utc_offset_minutes)
    programmes = _parse_programmes(document)
    programme_ids = {programme.id for programme in programmes}
    recipient_categories = _parse_recipient_categories(document, programme_ids)
    standards = _parse_standards(document, programme_ids)
    income_categories = _parse_income_categories(document)
    asset_limits = _parse_asset_limits(document)
    return PolicyPack(
        version=version,
        name=name,
        currency=currency,
        utc_offset_minutes=utc_offset_minutes,
        calendar=calendar,
        programmes=programmes,
        recipient_categories=recipient_categories,
        standards=standards,
        income_categories=income_categories,
        asset_limits=asset_limits,
        public_notice=_parse_public_notice(document),
        document=document,
        programme_index={programme.id: programme for programme in programmes},
        income_category_index={category.id: category for category in income_categories},
        standard_index=_index_by_date(standards, lambda standard: (standard.programme, standard.region)),
        asset_limit_index=_index_by_date(asset_limits, lambda limits: limits.region),
    )


def _index_by_date(entries: tuple[Any, ...], key: Any) -> dict[Any, tuple[Any, ...]]:
    grouped: dict[Any, list[Any]] = {}
    for entry in entries:
        grouped.setdefault(key(entry), []).append(entry)
    return {name: tuple(sorted(group, key=lambda entry: entry.effective_from_day)) for name, group in grouped.items()}


def _parse_calendar(document: dict, utc_offset_minutes: int) -> WorkingDayCalendar:
    calendar = _require_object(document, "calendar", "", ("holidays", "make_up_working_days"))
    holidays = _require_list(calendar, "holidays", "calendar", CALENDAR_DATES_MAX, allow_empty=True)
    make_up = _require_list(calendar, "make_up_working_days", "calendar", CALENDAR_DATES_MAX, allow_empty=True)
    try:
        return build_calendar(utc_offset_minutes=utc_offset_minutes, holidays=holidays, make_up_working_days=make_up)
    except LedgerInputError as error:
        raise _pack_error("calendar", str(error)) from None


PROGRAMME_FIELDS_REQUIRED = ("id", "name_zh", "name_en", "tier", "deciding_department", "benefit_kind", "deadlines")
PROGRAMME_FIELDS_OPTIONAL = ("review_months_stable", "review_months_unstable", "fast_path", "means_test")


def _parse_programmes(document: dict) -> tuple[Programme, ...]:
    entries = _require_list(document, "programmes", "", PROGRAMMES_MAX)
    ids = _require_unique_ids(entries, "programmes")
    programmes = []
    for index, entry in enumerate(entries):
        programmes.append(_parse_programme(entry, f"programmes[{index}]", ids))
    return tuple(programmes)


def _parse_programme(entry: Any, path: str, programme_ids: set[str]) -> Programme:
    _require_fields(entry, path, PROGRAMME_FIELDS_REQUIRED, PROGRAMME_FIELDS_OPTIONAL)
    tier = _require_choice(entry, "tier", path, PROGRAMME_TIERS)
    review_stable, review_unstable = _parse_review_months(entry, path, tier)
    fast_path = None
    if "fast_path" in entry:
        if tier != "emergency":
            raise _pack_error(f"{path}.fast_path", "only emergency programmes have a fast path")
        fast_path_document = _require_object(entry, "fast_path", path, ("township_ceiling_fen",))
        fast_path = FastPath(_require_integer(fast_path_document, "township_ceiling_fen", f"{path}.fast_path", 1, AMOUNT_FEN_MAX))
    means_test = None
    if "means_test" in entry:
        means_test = _parse_means_test(entry, path, programme_ids)
    return Programme(
        id=entry["id"],
        name_zh=_require_text(entry, "name_zh", path, NAME_CHARACTERS_MAX),
        name_en=_require_text(entry, "name_en", path, NAME_CHARACTERS_MAX),
        tier=tier,
        deciding_department=_require_string(entry, "deciding_department", path, IDENTIFIER_PATTERN, "an organisation kind or id"),
        benefit_kind=_require_choice(entry, "benefit_kind", path, BENEFIT_KINDS),
        deadlines=_parse_deadlines(entry, path),
        review_months_stable=review_stable,
        review_months_unstable=review_unstable,
        fast_path=fast_path,
        means_test=means_test,
    )


def _parse_review_months(entry: dict, path: str, tier: str) -> tuple[int | None, int | None]:
    names = ("review_months_stable", "review_months_unstable")
    if tier != "basic":
        for name in names:
            if name in entry:
                raise _pack_error(f"{path}.{name}", "only basic programmes have periodic reviews")
        return None, None
    stable, unstable = (_require_integer(entry, name, path, 1, REVIEW_MONTHS_MAX) for name in names)
    if unstable > stable:
        raise _pack_error(f"{path}.review_months_unstable", "must not be longer than review_months_stable")
    return stable, unstable


def _parse_deadlines(entry: dict, path: str) -> Deadlines:
    document = _require_object(entry, "deadlines", path, DEADLINE_NAMES)
    where = f"{path}.deadlines"
    days = {name: _require_integer(document, name, where, 1, DEADLINE_WORKING_DAYS_MAX) for name in DEADLINE_NAMES}
    if days["county_decision"] > days["whole_process"]:
        raise _pack_error(f"{where}.county_decision", "must not be longer than whole_process")
    if days["whole_process_special"] < days["whole_process"]:
        raise _pack_error(f"{where}.whole_process_special", "must not be shorter than whole_process")
    return Deadlines(**days)


def _parse_means_test(entry: dict, path: str, programme_ids: set[str]) -> MeansTest:
    fields = ("income_standard_programme", "benefit_method", "required_flags")
    document = _require_object(entry, "means_test", path, fields)
    where = f"{path}.means_test"
    income_programme = _require_known(document, "income_standard_programme", where, programme_ids, "programme")
    method = _require_choice(document, "benefit_method", where, BENEFIT_METHODS)
    if method == "gap" and income_programme != entry["id"]:
        raise _pack_error(f"{where}.income_standard_programme", "the gap method tests income against the programme's own standard")
    flags = _require_list(document, "required_flags", where, CATEGORIES_MAX, allow_empty=True)
    for index, flag in enumerate(flags):
        if flag not in HOUSEHOLD_FLAGS:
            raise _pack_error(f"{where}.required_flags[{index}]", f"unknown flag {flag!r} (known: {', '.join(HOUSEHOLD_FLAGS)})")
    if len(set(flags)) != len(flags):
        raise _pack_error(f"{where}.required_flags", "names a flag twice")
    return MeansTest(income_programme, method, tuple(flags))


CATEGORY_FIELDS_REQUIRED = ("id", "name_zh", "name_en")


def _parse_recipient_categories(document: dict, programme_ids: set[str]) -> tuple[RecipientCategory, ...]:
    entries = _require_list(document, "recipient_categories", "", CATEGORIES_MAX)
    ids = _require_unique_ids(entries, "recipient_categories")
    if FALLBACK_CATEGORY_ID not in ids:
        raise _pack_error("recipient_categories", f"must define the fallback category {FALLBACK_CATEGORY_ID!r}")
    categories = []
    for index, entry in enumerate(entries):
        path = f"recipient_categories[{index}]"
        _require_fields(entry, path, CATEGORY_FIELDS_REQUIRED, ("programme", "multiplier_percent"))
        programme = _require_known(entry, "programme", path, programme_ids, "programme") if "programme" in entry else None
        multiplier = None
        if "multiplier_percent" in entry:
            if programme is None:
                raise _pack_error(f"{path}.multiplier_percent", "needs a programme whose standard it multiplies")
            multiplier = _require_integer(entry, "multiplier_percent", path, 1, MULTIPLIER_PERCENT_MAX)
        name_zh = _require_text(entry, "name_zh", path, NAME_CHARACTERS_MAX)
        name_en = _require_text(entry, "name_en", path, NAME_CHARACTERS_MAX)
        categories.append(RecipientCategory(entry["id"], name_zh, name_en, programme, multiplier))
    return tuple(categories)


def _parse_standards(document: dict, programme_ids: set[str]) -> tuple[Standard, ...]:
    entries = _require_list(document, "standards", "", POLICY_ENTRIES_MAX, allow_empty=True)
    standards = []
    seen: set[tuple[str, str, int]] = set()
    for index, entry in enumerate(entries):
        path = f"standards[{index}]"
        _require_fields(entry, path, ("programme", "region", "amount_fen_per_person_month", "effective_from"), ("source",))
        programme = _require_known(entry, "programme", path, programme_ids, "programme")
        region = _require_region(entry, path)
        amount = _require_integer(entry, "amount_fen_per_person_month", path, 1, AMOUNT_FEN_MAX)
        effective_from, day = _require_date(entry, "effective_from", path)
        source = _require_text(entry, "source", path, TEXT_CHARACTERS_MAX) if "source" in entry else None
        if (programme, region, day) in seen:
            raise _pack_error(path, f"a second {programme} standard for region {region} from {effective_from}")
        seen.add((programme, region, day))
        standards.append(Standard(programme, region, amount, effective_from, day, source))
    return tuple(standards)


INCOME_CATEGORY_FIELDS = ("id", "name_zh", "name_en", "counted", "deduction_percent")


def _parse_income_categories(document: dict) -> tuple[IncomeCategory, ...]:
    entries = _require_list(document, "income_categories", "", CATEGORIES_MAX)
    _require_unique_ids(entries, "income_categories")
    categories = []
    for index, entry in enumerate(entries):
        path = f"income_categories[{index}]"
        _require_fields(entry, path, INCOME_CATEGORY_FIELDS, ())
        counted = _require_boolean(entry, "counted", path)
        deduction = _require_integer(entry, "deduction_percent", path, 0, 100)
        if not counted and deduction != 0:
            raise _pack_error(f"{path}.deduction_percent", "must be 0 for an income that is not counted")
        name_zh = _require_text(entry, "name_zh", path, NAME_CHARACTERS_MAX)
        name_en = _require_text(entry, "name_en", path, NAME_CHARACTERS_MAX)
        categories.append(IncomeCategory(entry["id"], name_zh, name_en, counted, deduction))
    return tuple(categories)


ASSET_LIMIT_FIELDS = (
    "region", "effective_from", "deposits_fen_per_person", "vehicles_max",
    "properties_beyond_residence_max", "business_registrations_max",
)


def _parse_asset_limits(document: dict) -> tuple[AssetLimits, ...]:
    entries = _require_list(document, "asset_limits", "", POLICY_ENTRIES_MAX, allow_empty=True)
    parsed = []
    seen: set[tuple[str, int]] = set()
    for index, entry in enumerate(entries):
        path = f"asset_limits[{index}]"
        _require_fields(entry, path, ASSET_LIMIT_FIELDS, ("source",))
        region = _require_region(entry, path)
        effective_from, day = _require_date(entry, "effective_from", path)
        if (region, day) in seen:
            raise _pack_error(path, f"second asset limits for region {region} from {effective_from}")
        seen.add((region, day))
        parsed.append(
            AssetLimits(
                region=region,
                effective_from=effective_from,
                effective_from_day=day,
                deposits_fen_per_person=_require_integer(entry, "deposits_fen_per_person", path, 0, AMOUNT_FEN_MAX),
                vehicles_max=_require_integer(entry, "vehicles_max", path, 0, 1000),
                properties_beyond_residence_max=_require_integer(entry, "properties_beyond_residence_max", path, 0, 1000),
                business_registrations_max=_require_integer(entry, "business_registrations_max", path, 0, 1000),
                source=_require_text(entry, "source", path, TEXT_CHARACTERS_MAX) if "source" in entry else None,
            )
        )
    return tuple(parsed)


def _parse_public_notice(document: dict) -> PublicNotice:
    notice = _require_object(document, "public_notice", "", ("days", "fields"))
    days = _require_integer(notice, "days", "public_notice", 1, PUBLIC_NOTICE_DAYS_MAX)
    fields = _require_list(notice, "fields", "public_notice", CATEGORIES_MAX)
    for index, name in enumerate(fields):
        if name not in PUBLIC_NOTICE_FIELDS_ALLOWED:
            raise _pack_error(
                f"public_notice.fields[{index}]",
                f"{name!r} may not be shown (allowed: {', '.join(PUBLIC_NOTICE_FIELDS_ALLOWED)})",
            )
    if len(set(fields)) != len(fields):
        raise _pack_error("public_notice.fields", "names a field twice")
    return PublicNotice(days, tuple(fields))


# Field checks: each names the path of what it checks ----------------------------------------------


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_json_types(value: Any, path: str) -> None:
    """Name the first value that has no JSON form: floats, and the dates and times TOML allows."""
    kind = type(value)
    if kind is float:
        raise _pack_error(path or "(pack)", "floats are not allowed: write an integer (amounts in fen, rates in percent)")
    if kind is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise _pack_error(path or "(pack)", "object keys must be strings")
            _check_json_types(item, _join(path, key))
    elif kind is list:
        for index, item in enumerate(value):
            _check_json_types(item, f"{path}[{index}]")
    elif kind not in (str, int, bool) and value is not None:
        raise _pack_error(path or "(pack)", f"a {kind.__name__} has no JSON form (write dates as quoted \"YYYY-MM-DD\")")


def _require_fields(entry: Any, path: str, required: tuple[str, ...], optional: tuple[str, ...]) -> None:
    if type(entry) is not dict:
        raise _pack_error(path or "(pack)", "must be an object")
    for name in required:
        if name not in entry:
            raise _pack_error(_join(path, name), "is required")
    unknown = sorted(set(entry) - set(required) - set(optional))
    if unknown:
        raise _pack_error(_join(path, unknown[0]), "is not a known field")


def _require_object(entry: dict, name: str, path: str, fields: tuple[str, ...]) -> dict:
    value = entry.get(name)
    where = _join(path, name)
    if type(value) is not dict:
        raise _pack_error(where, "must be an object")
    _require_fields(value, where, fields, ())
    return value


def _require_integer(entry: dict, name: str, path: str, minimum: int, maximum: int) -> int:
    value = entry.get(name)
    if type(value) is not int or not minimum <= value <= maximum:
        if minimum == 1:
            expected = f"a positive integer (at most {maximum})"
        elif minimum == 0:
            expected = f"a non-negative integer (at most {maximum})"
        else:
            expected = f"an integer in [{minimum}, {maximum}]"
        raise _pack_error(_join(path, name), f"must be {expected}")
    return value


def _require_boolean(entry: dict, name: str, path: str) -> bool:
    value = entry.get(name)
    if type(value) is not bool:
        raise _pack_error(_join(path, name), "must be true or false")
    return value


def _require_text(entry: dict, name: str, path: str, characters_max: int) -> str:
    value = entry.get(name)
    if type(value) is not str or not value.strip() or len(value) > characters_max:
        raise _pack_error(_join(path, name), f"must be a non-empty string of at most {characters_max} characters")
    return value


def _require_string(entry: dict, name: str, path: str, pattern: re.Pattern[str], description: str) -> str:
    value = entry.get(name)
    if type(value) is not str or not pattern.fullmatch(value):
        raise _pack_error(_join(path, name), f"must be {description}")
    return value


def _require_choice(entry: dict, name: str, path: str, choices: tuple[str, ...]) -> str:
    value = entry.get(name)
    if value not in choices or type(value) is not str:
        raise _pack_error(_join(path, name), f"must be one of {', '.join(choices)}, not {value!r}")
    return value


def _require_known(entry: dict, name: str, path: str, known: set[str], noun: str) -> str:
    value = entry.get(name)
    if type(value) is not str or value not in known:
        raise _pack_error(_join(path, name), f"unknown {noun} {value!r}")
    return value


def _require_list(entry: dict, name: str, path: str, items_max: int, *, allow_empty: bool = False) -> list:
    value = entry.get(name)
    smallest = 0 if allow_empty else 1
    if type(value) is not list or not smallest <= len(value) <= items_max:
        raise _pack_error(_join(path, name), f"must be a list of {smallest} to {items_max} items")
    return value


def _require_unique_ids(entries: list, path: str) -> set[str]:
    ids: set[str] = set()
    for index, entry in enumerate(entries):
        if type(entry) is not dict:
            raise _pack_error(f"{path}[{index}]", "must be an object")
        identifier = _require_string(entry, "id", f"{path}[{index}]", IDENTIFIER_PATTERN, "a lowercase identifier")
        if identifier in ids:
            raise _pack_error(f"{path}[{index}].id", f"duplicate id {identifier!r}")
        ids.add(identifier)
    return ids


def _require_region(entry: dict, path: str) -> str:
    value = entry.get("region")
    if not is_region_code(value):
        raise _pack_error(f"{path}.region", f"{value!r} is not a GB/T 2260 region code")
    return value


def _require_date(entry: dict, name: str, path: str) -> tuple[str, int]:
    value = entry.get(name)
    try:
        return value, parse_date(value, where=_join(path, name))
    except LedgerInputError as error:
        raise PolicyError(str(error), code="invalid_policy_pack") from None


# Lookups ------------------------------------------------------------------------------------------


def get_programme(pack: PolicyPack, programme: str) -> Programme:
    """The programme called ``programme``; ``PolicyError`` ``unknown_programme`` otherwise."""
    found = pack.programme_index.get(programme)
    if found is None:
        raise PolicyError(f"the policy pack {pack.version} has no programme {programme!r}", code="unknown_programme")
    return found


def _select_by_region_and_date(index: Mapping[Any, tuple[Any, ...]], key: Any, region: str, day: int) -> Any:
    """Walk from ``region`` up to ``000000``; at the first region with an entry in force, the latest."""
    if not is_region_code(region):
        raise PolicyError(f"{region!r} is not a GB/T 2260 region code", code="invalid_region")
    for candidate in (region, *get_ancestors(region)):
        in_force = [entry for entry in index.get(key(candidate), ()) if entry.effective_from_day <= day]
        if in_force:
            return in_force[-1]
    return None


def get_standard_entry(pack: PolicyPack, programme: str, region: str, time_ms: int) -> Standard:
    """The standard in force for ``programme`` in ``region`` at block time ``time_ms``.

    The most specific region wins: ``region`` itself, then its parent, and so on up to
    ``000000``; the first region that has a standard already in force on the local date
    (``effective_from <= date`` in the pack's zone) supplies its latest one. A newer standard of a
    parent region therefore does not override an older one set for a district.
    """
    get_programme(pack, programme)
    day = get_local_day(pack.calendar, time_ms)
    found = _select_by_region_and_date(pack.standard_index, lambda candidate: (programme, candidate), region, day)
    if found is None:
        raise PolicyError(
            f"no {programme} standard for region {region} or any region above it on {format_date(day)}",
            code="no_standard",
        )
    return found


def get_standard(pack: PolicyPack, programme: str, region: str, time_ms: int) -> int:
    """The standard (fen per person per month) in force; see ``get_standard_entry`` for the lookup."""
    return get_standard_entry(pack, programme, region, time_ms).amount_fen_per_person_month


def get_asset_limits(pack: PolicyPack, region: str, time_ms: int) -> AssetLimits:
    """The asset limits in force in ``region`` at ``time_ms``, looked up like a standard."""
    day = get_local_day(pack.calendar, time_ms)
    found = _select_by_region_and_date(pack.asset_limit_index, lambda candidate: candidate, region, day)
    if found is None:
        raise PolicyError(f"no asset limits for region {region} or any region above it on {format_date(day)}", code="no_asset_limits")
    return found


# Household facts ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseholdFacts:
    """What the means test established about a co-resident household, as of one month."""

    members: int
    """Co-resident members counted for per-capita income (1..HOUSEHOLD_MEMBERS_MAX)."""

    monthly_income_fen: Mapping[str, int]
    """Monthly income by income category id of the pack, in fen (before exclusions, deductions)."""

    deposits_fen: int
    """Deposits and other monetary assets of the whole household, in fen."""

    vehicles: int
    """Motor vehicles owned."""

    properties_beyond_residence: int
    """Properties owned besides the one lived in."""

    business_registrations: int
    """Business registrations held."""

    able_to_work_with_unstable_income: bool = False
    """Someone can work and income is unstable: reviews come more often."""

    unable_to_work: bool = False
    """No member can work (a condition of tekun)."""

    without_able_supporter: bool = False
    """No one legally bound to support the household is able to (a condition of tekun)."""

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form, every field present, income sorted by category."""
        return {
            "able_to_work_with_unstable_income": self.able_to_work_with_unstable_income,
            "business_registrations": self.business_registrations,
            "deposits_fen": self.deposits_fen,
            "members": self.members,
            "monthly_income_fen": dict(sorted(self.monthly_income_fen.items())),
            "properties_beyond_residence": self.properties_beyond_residence,
            "unable_to_work": self.unable_to_work,
            "vehicles": self.vehicles,
            "without_able_supporter": self.without_able_supporter,
        }


FACTS_FIELDS_REQUIRED = (
    "members", "monthly_income_fen", "deposits_fen", "vehicles", "properties_beyond_residence", "business_registrations",
)


def parse_household_facts(value: Any, pack: PolicyPack) -> HouseholdFacts:
    """Check household facts (the JSON form of ``HouseholdFacts``) against ``pack``.

    The flags may be omitted (false); every other field is required. Income categories must be
    ones ``pack`` defines. Errors are ``PolicyError`` with code ``invalid_household_facts``.
    """
    if type(value) is not dict:
        raise _facts_error("(facts)", "must be an object")
    for name in FACTS_FIELDS_REQUIRED:
        if name not in value:
            raise _facts_error(name, "is required")
    unknown = sorted(set(value) - set(FACTS_FIELDS_REQUIRED) - set(HOUSEHOLD_FLAGS))
    if unknown:
        raise _facts_error(unknown[0], "is not a known field")
    counts = {}
    for name, minimum, maximum in (
        ("members", 1, HOUSEHOLD_MEMBERS_MAX),
        ("deposits_fen", 0, AMOUNT_FEN_MAX),
        ("vehicles", 0, 1000),
        ("properties_beyond_residence", 0, 1000),
        ("business_registrations", 0, 1000),
    ):
        if type(value[name]) is not int or not minimum <= value[name] <= maximum:
            raise _facts_error(name, f"must be an integer in [{minimum}, {maximum}]")
        counts[name] = value[name]
    flags = {}
    for name in HOUSEHOLD_FLAGS:
        flags[name] = value.get(name, False)
        if type(flags[name]) is not bool:
            raise _facts_error(name, "must be true or false")
    income = _parse_income(value["monthly_income_fen"], pack)
    return HouseholdFacts(monthly_income_fen=income, **counts, **flags)


def _parse_income(value: Any, pack: PolicyPack) -> dict[str, int]:
    if type(value) is not dict:
        raise _facts_error("monthly_income_fen", "must be an object of income category id to fen")
    for category, amount in value.items():
        where = f"monthly_income_fen.{category}"
        if category not in pack.income_category_index:
            raise _facts_error(where, f"unknown income category {category!r} (known: {', '.join(pack.income_category_index)})")
        if type(amount) is not int or not 0 <= amount <= AMOUNT_FEN_MAX:
            raise _facts_error(where, f"must be an integer in [0, {AMOUNT_FEN_MAX}] fen")
    return dict(sorted(value.items()))


def compute_facts_digest(suite: Suite, facts: HouseholdFacts) -> bytes:
    """Suite hash of the facts' canonical JSON: what a decision cites as the facts it rests on."""
    return suite.compute_hash(encode_canonical(facts.to_json()))


# Rules --------------------------------------------------------------------------------------------


def compute_counted_income(pack: PolicyPack, facts: HouseholdFacts) -> int:
    """The household's counted monthly income in fen.

    For each income category: ``0`` if the pack excludes it (``counted = false``), otherwise
    ``amount * (100 - deduction_percent) // 100``. Rounding is down, per category, which is in
    the household's favour (a deduction is never rounded away).
    """
    total = 0
    for category_id, amount in facts.monthly_income_fen.items():
        category = pack.income_category_index.get(category_id)
        if category is None:
            raise _facts_error(f"monthly_income_fen.{category_id}", f"unknown income category {category_id!r}")
        if category.counted:
            total += amount * (100 - category.deduction_percent) // 100
    return total


@dataclass(frozen=True)
class EligibilityResult:
    """The outcome of a means test for one programme, with every figure it used."""

    programme: str
    """Programme evaluated."""

    eligible: bool
    """True when no reason refuses the household."""

    reasons: tuple[str, ...]
    """Stable reason codes of a refusal (empty when eligible), in a fixed order."""

    category: str
    """Recipient category id relative to this programme (``dibao``, ``low_income_edge``, ``other``)."""

    members: int
    """Household members."""

    counted_income_fen: int
    """Counted monthly income of the household (``compute_counted_income``)."""

    per_capita_income_fen: int
    """Counted income divided by members, rounded down (for display; tests use exact totals)."""

    standard_fen: int
    """The programme's own standard per person per month."""

    income_limit_fen: int
    """The standard that per-capita income must stay below (the dibao standard for tekun)."""

    monthly_benefit_fen: int
    """Monthly benefit of the household in fen; 0 when not eligible."""

    def to_json(self) -> dict[str, Any]:
        """The canonical JSON form, as a decision records it."""
        return {
            "category": self.category,
            "counted_income_fen": self.counted_income_fen,
            "eligible": self.eligible,
            "income_limit_fen": self.income_limit_fen,
            "members": self.members,
            "monthly_benefit_fen": self.monthly_benefit_fen,
            "per_capita_income_fen": self.per_capita_income_fen,
            "programme": self.programme,
            "reasons": list(self.reasons),
            "standard_fen": self.standard_fen,
        }


def evaluate_eligibility(
    pack: PolicyPack, programme: str, region: str, time_ms: int, facts: HouseholdFacts
) -> EligibilityResult:
    """Means-test a household for a programme in a region at block time ``time_ms``.

    With ``S`` the programme's standard, ``L`` the income limit (the standard of
    ``means_test.income_standard_programme``, equal to ``S`` for dibao), ``m`` members and ``I``
    counted income, the household is eligible when every required flag is true, ``I < L * m``
    (per-capita income strictly below the limit, compared on totals so no rounding intervenes) and
    its assets are within the limits (deposits ``<= deposits_fen_per_person * m``, each count
    ``<= its maximum``). The monthly benefit is then ``S * m - I`` for the gap method (equal to
    ``(S - I/m) * m``, always positive) or ``S * m`` for ``full_standard``; otherwise 0.

    The category is the one tied to this programme when eligible; otherwise, if the assets are
    within the limits, the first category with a multiplier whose threshold the income is below
    (``I * 100 < multiplier_percent * standard * m``: low-income edge); otherwise ``other``.
    """
    selected = get_programme(pack, programme)
    if selected.means_test is None:
        raise PolicyError(f"programme {programme!r} has no means test in pack {pack.version}", code="no_means_test")
    means_test = selected.means_test
    standard = get_standard(pack, programme, region, time_ms)
    income_limit = get_standard(pack, means_test.income_standard_programme, region, time_ms)
    counted = compute_counted_income(pack, facts)
    members = facts.members
    reasons = [REASON_FLAG_PREFIX + flag for flag in means_test.required_flags if not getattr(facts, flag)]
    if counted >= income_limit * members:
        reasons.append(REASON_INCOME)
    asset_reasons = compute_asset_refusals(get_asset_limits(pack, region, time_ms), facts)
    reasons.extend(asset_reasons)
    eligible = not reasons
    benefit = 0
    if eligible:
        benefit = standard * members - counted if means_test.benefit_method == "gap" else standard * members
    return EligibilityResult(
        programme=programme,
        eligible=eligible,
        reasons=tuple(reasons),
        category=_get_category(pack, programme, region, time_ms, facts, counted, eligible, not asset_reasons),
        members=members,
        counted_income_fen=counted,
        per_capita_income_fen=counted // members,
        standard_fen=standard,
        income_limit_fen=income_limit,
        monthly_benefit_fen=benefit,
    )


def compute_asset_refusals(limits: AssetLimits, facts: HouseholdFacts) -> list[str]:
    """Reason codes for every asset limit the household exceeds (empty when within all)."""
    reasons = []
    if facts.deposits_fen > limits.deposits_fen_per_person * facts.members:
        reasons.append(REASON_DEPOSITS)
    if facts.vehicles > limits.vehicles_max:
        reasons.append(REASON_VEHICLES)
    if facts.properties_beyond_residence > limits.properties_beyond_residence_max:
        reasons.append(REASON_PROPERTIES)
    if facts.business_registrations > limits.business_registrations_max:
        reasons.append(REASON_BUSINESS_REGISTRATIONS)
    return reasons


def _get_category(
    pack: PolicyPack, programme: str, region: str, time_ms: int, facts: HouseholdFacts,
    counted: int, eligible: bool, assets_within_limits: bool,
) -> str:
    if eligible:
        for category in pack.recipient_categories:
            if category.programme == programme and category.multiplier_percent is None:
                return category.id
        return FALLBACK_CATEGORY_ID
    if assets_within_limits:
        for category in pack.recipient_categories:
            if category.multiplier_percent is None or category.programme is None:
                continue
            reference = get_standard(pack, category.programme, region, time_ms)
            if counted * 100 < category.multiplier_percent * reference * facts.members:
                return category.id
    return FALLBACK_CATEGORY_ID


def get_review_interval_months(pack: PolicyPack, programme: str, facts: HouseholdFacts) -> int | None:
    """Months until the next periodic review, or ``None`` for programmes without reviews.

    Basic programmes review stable households every ``review_months_stable`` months (12) and
    households able to work whose income is unstable every ``review_months_unstable`` (6).
    """
    selected = get_programme(pack, programme)
    if selected.review_months_stable is None or selected.review_months_unstable is None:
        return None
    if facts.able_to_work_with_unstable_income:
        return selected.review_months_unstable
    return selected.review_months_stable
