"""Regions: GB/T 2260 administrative division codes and the hierarchy they encode.

A region code is six digits ``PPCCDD``: province ``PP0000``, prefecture-level city ``PPCC00``,
county-level division ``PPCCDD``; a township or street office extends its county (or a city that
has no counties, such as Dongguan 441900) with three more digits ``TTT``. ``000000`` stands for the
whole country. Policy is set per region and applies to everything within it, so the hierarchy is
computed from the digits alone, with no table: every peer derives the same parent for a code.

The municipalities fit the same scheme: Beijing's districts ``1101DD`` sit under ``110100``
(市辖区, "districts under the municipality"), whose parent is ``110000``. A ``RegionTable`` adds the
names and checks that a list of regions agrees with the digits.
"""

import functools
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from reliefledger.ledger.encoding import check_canonical_value
from reliefledger.ledger.errors import LedgerInputError

NATIONAL_CODE = "000000"
"""The root of the hierarchy: the whole country."""

REGION_LEVELS = ("national", "province", "city", "county", "township")
"""Levels from the root down, as ``get_level`` names them."""

REGION_CODE_PATTERN = re.compile(r"^[0-9]{6}(?:[0-9]{3})?$")
"""Six digits, optionally extended by a three-digit township code."""

REGION_TABLE_SIZE_MAX = 100_000
"""Most regions in one table (the country has about 3,000 counties and 40,000 townships)."""

REGION_NAME_CHARACTERS_MAX = 200
"""Longest region name, in characters."""

REGION_NOTE_CHARACTERS_MAX = 2000
"""Longest ``about`` or ``note`` text, in characters."""

REGION_TABLE_FIELDS = frozenset({"about", "note", "regions"})
REGION_FIELDS_REQUIRED = frozenset({"code", "name_zh", "name_en", "parent"})
REGION_FIELDS_OPTIONAL = frozenset({"note"})


class RegionError(LedgerInputError):
    """A string that is not a well-formed GB/T 2260 region code."""

    code = "invalid_region"


def is_region_code(code: object) -> bool:
    """True when ``code`` is a well-formed region code of some level.

    Besides the digit pattern the parts must nest: a city needs a province, a county a city, a
    township a city or county; only ``000000`` may have a zero province.
    """
    if type(code) is not str or not REGION_CODE_PATTERN.fullmatch(code):
        return False
    province, city, county = code[0:2], code[2:4], code[4:6]
    if province == "00":
        return code == NATIONAL_CODE
    if city == "00" and county != "00":
        return False
    if len(code) == 9:
        return city != "00" and code[6:9] != "000"
    return True


def _require_region_code(code: object) -> str:
    if not is_region_code(code):
        raise RegionError(f"{code!r} is not a GB/T 2260 region code")
    return code  # type: ignore[return-value]


def get_level(code: str) -> str:
    """``national``, ``province``, ``city``, ``county`` or ``township``; ``RegionError`` if malformed."""
    _require_region_code(code)
    if code == NATIONAL_CODE:
        return "national"
    if len(code) == 9:
        return "township"
    if code[2:6] == "0000":
        return "province"
    if code[4:6] == "00":
        return "city"
    return "county"


def get_parent(code: str) -> str | None:
    """The region directly above ``code`` (``None`` for ``000000``), derived from the digits.

    township -> its six-digit prefix (a county, or a city without counties);
    county ``PPCCDD`` -> city ``PPCC00``; city ``PPCC00`` -> province ``PP0000``;
    province -> ``000000``.
    """
    level = get_level(code)
    if level == "national":
        return None
    if level == "township":
        return code[0:6]
    if level == "county":
        return code[0:4] + "00"
    if level == "city":
        return code[0:2] + "0000"
    return NATIONAL_CODE


def get_ancestors(code: str) -> list[str]:
    """Every region above ``code``, nearest first, ending with ``000000`` (empty for the root).

    ``[code, *get_ancestors(code)]`` is the order in which "the most specific region wins".
    """
    return list(_get_ancestors(code))


@functools.lru_cache(maxsize=65_536)
def _get_ancestors(code: str) -> tuple[str, ...]:
    # A pure function of a short string, asked for the same few thousand codes in every block's
    # authorisation checks: remembered rather than re-derived (a malformed code raises and is not cached).
    ancestors = []
    parent = get_parent(code)
    while parent is not None:
        ancestors.append(parent)
        parent = get_parent(parent)
    return tuple(ancestors)


def is_within(code: str, ancestor: str) -> bool:
    """True when ``code`` is ``ancestor`` or lies below it; everything is within ``000000``.

    A predicate never raises: contracts call it on codes that only matched the digit pattern, and
    a malformed code (``001234``, ``110005``) is within nothing, not even itself.
    """
    return _is_within(code, ancestor) if type(code) is str and type(ancestor) is str else False


@functools.lru_cache(maxsize=65_536)
def _is_within(code: str, ancestor: str) -> bool:
    if not is_region_code(code) or not is_region_code(ancestor):
        return False
    return code == ancestor or ancestor in _get_ancestors(code)


@dataclass(frozen=True)
class Region:
    """One administrative division with its names."""

    code: str
    """GB/T 2260 code (six or nine digits)."""

    name_zh: str
    """Official Chinese name, e.g. 海淀区."""

    name_en: str
    """English (pinyin) name, e.g. Haidian District."""

    parent: str | None
    """Code of the region directly above; ``None`` only for ``000000``."""

    note: str | None = None
    """Free remark, e.g. that a township code is illustrative."""


@dataclass(frozen=True)
class RegionTable:
    """A checked set of regions: every parent present and equal to the one the digits imply."""

    regions: Mapping[str, Region]
    """Regions by code."""

    about: str
    """Where the table comes from."""

    note: str | None = None
    """Remarks that apply to the whole table."""

    children: Mapping[str, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)
    """Codes directly below each code, sorted (derived from ``regions``)."""

    def __contains__(self, code: object) -> bool:
        return code in self.regions

    def get_region(self, code: str) -> Region:
        """The region called ``code``; ``RegionError`` when the table does not hold it."""
        try:
            return self.regions[code]
        except KeyError:
            raise RegionError(f"region {code!r} is not in the table") from None

    def get_children(self, code: str) -> tuple[str, ...]:
        """Codes directly below ``code`` in this table, sorted."""
        return self.children.get(code, ())


def parse_region_table(document: Any) -> RegionTable:
    """Check a region table document and return it parsed.

    The document is ``{"about": str, "note"?: str, "regions": [{"code", "name_zh", "name_en",
    "parent", "note"?}, ...]}``. Every code must be well formed and unique, ``000000`` must be the
    one root, and every other region's parent must be in the table and equal ``get_parent(code)``,
    so that names and digits can never disagree. Errors are ``LedgerInputError`` with code
    ``invalid_region_table`` and a message naming the entry.
    """
    if type(document) is not dict:
        raise _table_error("a region table must be a JSON object")
    _check_json(document)
    unknown = sorted(set(document) - REGION_TABLE_FIELDS)
    if unknown:
        raise _table_error(f"unknown field {unknown[0]!r} (allowed: {', '.join(sorted(REGION_TABLE_FIELDS))})")
    about = _require_text(document, "about", "about")
    note = _require_text(document, "note", "note") if "note" in document else None
    entries = document.get("regions")
    if type(entries) is not list or not entries or len(entries) > REGION_TABLE_SIZE_MAX:
        raise _table_error(f"regions: must be a list of 1 to {REGION_TABLE_SIZE_MAX} regions")
    regions: dict[str, Region] = {}
    for index, entry in enumerate(entries):
        region = _parse_region(entry, f"regions[{index}]")
        if region.code in regions:
            raise _table_error(f"regions[{index}].code: {region.code} is listed twice")
        regions[region.code] = region
    if NATIONAL_CODE not in regions:
        raise _table_error(f"regions: the root {NATIONAL_CODE} is missing")
    children: dict[str, list[str]] = {}
    for index, entry in enumerate(entries):
        region = regions[entry["code"]]
        if region.parent is not None and region.parent not in regions:
            raise _table_error(f"regions[{index}].parent: {region.parent} is not in the table")
        if region.parent is not None:
            children.setdefault(region.parent, []).append(region.code)
    sorted_children = {code: tuple(sorted(codes)) for code, codes in children.items()}
    return RegionTable(regions, about, note, sorted_children)


def _parse_region(entry: Any, path: str) -> Region:
    if type(entry) is not dict:
        raise _table_error(f"{path}: must be an object")
    missing = sorted(REGION_FIELDS_REQUIRED - set(entry))
    if missing:
        raise _table_error(f"{path}: missing {', '.join(missing)}")
    unknown = sorted(set(entry) - REGION_FIELDS_REQUIRED - REGION_FIELDS_OPTIONAL)
    if unknown:
        raise _table_error(f"{path}: unknown field {unknown[0]!r}")
    code = entry["code"]
    if not is_region_code(code):
        raise _table_error(f"{path}.code: {code!r} is not a GB/T 2260 region code")
    name_zh = _require_text(entry, "name_zh", f"{path}.name_zh")
    name_en = _require_text(entry, "name_en", f"{path}.name_en")
    note = _require_text(entry, "note", f"{path}.note") if "note" in entry else None
    expected_parent = get_parent(code)
    if entry["parent"] != expected_parent:
        raise _table_error(
            f"{path}.parent: {code} must have parent {expected_parent!r} by its digits, not {entry['parent']!r}"
        )
    return Region(code, name_zh, name_en, expected_parent, note)


def _require_text(document: dict, name: str, path: str) -> str:
    value = document.get(name)
    longest = REGION_NAME_CHARACTERS_MAX if name.startswith("name") else REGION_NOTE_CHARACTERS_MAX
    if type(value) is not str or not value.strip() or len(value) > longest:
        raise _table_error(f"{path}: must be a non-empty string of at most {longest} characters")
    return value


def _check_json(document: dict) -> None:
    try:
        check_canonical_value(document)
    except LedgerInputError as error:
        raise _table_error(str(error)) from None


def _table_error(message: str) -> LedgerInputError:
    return LedgerInputError(message, code="invalid_region_table")
