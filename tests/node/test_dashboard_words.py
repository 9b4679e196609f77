"""Every word the dashboard's templates ask for exists in Chinese and in English: a page never
shows a raw key in one language and a word in the other."""

import re
from pathlib import Path

from reliefledger.analytics.queries import QUERIES
from reliefledger.ledger.contracts.assistance import ACTIONS
from reliefledger.web.i18n import TEXT
from reliefledger.web.sign_in import MEMBER_KINDS

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "reliefledger" / "web" / "templates"
CASE_STATES = ("applied", "investigating", "assessed", "opinion_given", "in_notice", "enrolled", "refused", "completed", "paid_first", "stopped", "exited")
DEADLINES = ("investigation_start", "county_decision", "whole_process", "refusal_notice", "review")
ROLES = ("caseworker", "approver", "finance_officer", "hotline_operator", "report_handler", "policy_admin", "admin", "analyst")


def test_both_languages_have_every_word_the_templates_use() -> None:
    literal = set()
    for template in TEMPLATES.glob("*.html"):
        literal |= set(re.findall(r"t\('([a-z_0-9]+)'\)", template.read_text(encoding="utf-8")))
    dynamic = {f"status_{state}" for state in CASE_STATES} | {f"step_{action}" for action in ACTIONS} | {f"deadline_{name}" for name in DEADLINES} \
        | {f"role_{role}" for role in ROLES} | {f"member_{kind}" for kind in MEMBER_KINDS} | {"done_decided", "done_paid", "met", "late", "overdue", "pending"} \
        | {f"transfer_{state}" for state in ("posted", "pending", "voided", "expired")} | {f"analytics_{name}" for name in QUERIES} \
        | {f"report_{state}" for state in ("filed", "acknowledged", "in_progress", "resolved")} | {"anomaly_rules", "discovery_model", "in_service", "retired"}
    for language in ("zh", "en"):
        missing = sorted((literal | dynamic) - set(TEXT[language]))
        assert not missing, f"{language} lacks {missing}"
    assert set(TEXT["zh"]) == set(TEXT["en"])
