"""The purposes a partner may state for a search, and the record fields each allows.

A search criterion may state why it is made, in the specification's ``authorize`` or ``consent``
object: ``{"purpose": {"code": "<code>", "text": …}}``. A partner's answers carry the fields it
was onboarded for (``fields`` in ``interop.toml``) **and** that its stated purpose allows: a
statistics office counting households by district gets no pseudonyms to follow a household with,
a programme checking eligibility gets what eligibility needs. A criterion that states no purpose is
answered with the onboarded fields (the onboarding was itself for a purpose); an unknown purpose
code is refused (``rjct.search_criteria.invalid``) rather than guessed at.
"""

from typing import Any

PURPOSE_FIELDS: dict[str, tuple[str, ...]] = {
    "eligibility": ("household_id", "region", "status", "members_count", "head_id", "programmes", "person_id", "alive", "death_recorded"),
    "enrolment": ("household_id", "person_id", "status", "programmes", "alive", "death_recorded"),
    "verification": ("household_id", "person_id", "status", "alive", "death_recorded"),
    "statistics": ("region", "status", "members_count", "programmes"),
}
"""Purpose codes and the fields each allows: deciding eligibility for a programme; coordinating
enrolment (no double benefits); checking that a person or household is registered and alive;
aggregate statistics (no identifiers)."""


class PurposeRefused(ValueError):
    """A stated purpose this node does not know."""


def read_purpose(criteria: dict[str, Any]) -> str | None:
    """The purpose code a search or subscription criterion states (``authorize`` first, then
    ``consent``), or None when it states none; ``PurposeRefused`` for a code not in ``PURPOSE_FIELDS``."""
    for name in ("authorize", "consent"):
        statement = criteria.get(name)
        purpose = statement.get("purpose") if isinstance(statement, dict) else None
        if isinstance(purpose, dict) and "code" in purpose:
            code = purpose["code"]
            if not isinstance(code, str) or code not in PURPOSE_FIELDS:
                raise PurposeRefused(f"purpose code {str(code)[:64]!r} is not one of {', '.join(PURPOSE_FIELDS)}")
            return code
    return None


def allow_fields(onboarded: tuple[str, ...], purpose: str | None) -> tuple[str, ...]:
    """The fields a partner onboarded for ``onboarded`` may receive for ``purpose``."""
    if purpose is None:
        return onboarded
    return tuple(field for field in onboarded if field in PURPOSE_FIELDS[purpose])
