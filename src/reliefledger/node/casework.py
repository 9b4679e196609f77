"""Casework: the civil-affairs desk's operations, turning people's data into ledger steps.

This is where personal data meets the ledger, and it never crosses: names, ID numbers, addresses
and incomes go into the agency's vault; pseudonyms (keyed hashes under the network key) and vault
commitments go into transactions. Each operation signs one step with the acting staff member's
own key, previews it (so a refused step is answered at once with its reason), submits it and
waits for its final status. Every read of personal data is logged on the ledger with a purpose.
"""

import asyncio
import secrets
from dataclasses import dataclass
from typing import Any

from reliefledger.ledger.contracts.assistance import get_case_key, get_overdue_steps
from reliefledger.ledger.contracts.catalog import list_answers
from reliefledger.ledger.contracts.membership import get_member_key
from reliefledger.ledger.contracts.policy_packs import CURRENT_KEY, get_pack_key
from reliefledger.ledger.contracts.registry import get_household_key, get_person_key
from reliefledger.ledger.contracts.vault_access import get_access_prefix
from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.policy import PolicyPack, compute_facts_digest, evaluate_eligibility, parse_household_facts, parse_policy_pack
from reliefledger.ledger.pseudonyms import compute_household_pseudonym, compute_person_pseudonym, is_valid_resident_id
from reliefledger.ledger.regions import get_ancestors, get_parent, is_within
from reliefledger.ledger.results import ResultCode
from reliefledger.ledger.transactions import Envelope, TransactionBody, sign_transaction
from reliefledger.node.peer import Node
from reliefledger.node.staff import StaffMember
from reliefledger.store.vault import Vault

VALIDITY_MS = 10 * 60 * 1000
"""How long a step signed by the desk stays valid."""
FINAL_WAIT_S = 30.0
STATUS_BY_RESULT = {
    ResultCode.NOT_AUTHORISED: 403,
    ResultCode.CASE_NOT_FOUND: 404,
    ResultCode.HOUSEHOLD_NOT_FOUND: 404,
    ResultCode.PERSON_NOT_FOUND: 404,
    ResultCode.POLICY_PACK_NOT_FOUND: 404,
    ResultCode.REPORT_NOT_FOUND: 404,
    ResultCode.EVENT_NOT_FOUND: 404,
    ResultCode.ACCOUNT_NOT_FOUND: 404,
}
"""HTTP status of a refused step; any other refusal is a 409 (it conflicts with the case's state)."""


class CaseworkError(LedgerInputError):
    """A step refused, at the desk or by the ledger; ``status`` is the HTTP answer."""

    def __init__(self, message: str, *, code: str, status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


@dataclass
class Casework:
    """The desk of one agency node."""

    node: Node
    vault: Vault
    network_key: bytes
    organisation: str
    """The organisation that owns this node's vault."""

    # --- registry --------------------------------------------------------------------------------

    async def register_household(self, actor: StaffMember, *, household_number: str, region: str, members: list[dict[str, Any]], address: str) -> dict[str, Any]:
        """Register a household from its people's data: vault records, pseudonyms, one transaction."""
        if not members:
            raise CaseworkError("a household has at least one member", code="invalid_household")
        suite = self.node.suite
        household = compute_household_pseudonym(suite, self.network_key, household_number)
        entries, receipts = [], []
        try:
            for member in members:
                person = self._compute_person(member)
                receipt = self.vault.put(subject=person, kind="person", owner=self.organisation, record=member)
                receipts.append(receipt)
                entries.append({"person": person, "record_commitment": receipt.commitment})
            household_receipt = self.vault.put(subject=household, kind="household", owner=self.organisation,
                                               record={"address": address, "household_number": household_number})
            receipts.append(household_receipt)
            await self.submit(actor, "registry", "register_household", {
                "head": entries[0]["person"], "household": household, "members": entries,
                "record_commitment": household_receipt.commitment, "region": region,
            })
        except BaseException:
            for receipt in receipts:  # nothing half-written: the vault forgets what the ledger refused
                self.vault.destroy(receipt.record_id, compact=False)
            raise
        return {"household": household, "persons": [entry["person"] for entry in entries]}

    async def record_birth(self, actor: StaffMember, household: str, member: dict[str, Any]) -> dict[str, Any]:
        """A child joins a household: their record to the vault, their pseudonym to the registry."""
        person = self._compute_person(member)
        receipt = self.vault.put(subject=person, kind="person", owner=self.organisation, record=member)
        try:
            await self.submit(actor, "registry", "record_birth", {"household": household, "person": person, "record_commitment": receipt.commitment})
        except CaseworkError as error:
            if error.status < 500:  # refused: the ledger will never name the record; unavailable or timed out, it still may
                self.vault.destroy(receipt.record_id, compact=False)
            raise
        return {"person": person, "household": self.node.store.get(get_household_key(household))}

    async def change_household(self, actor: StaffMember, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """A registry change that carries no personal data: death, move, split, merge, new head."""
        await self.submit(actor, "registry", action, args)
        household = args.get("household") or self.node.store.get(get_person_key(args["person"]))["household"]
        return {"household": self.node.store.get(get_household_key(household))}

    async def split_household(self, actor: StaffMember, household: str, *, new_household_number: str, address: str, persons: list[str], head: str) -> dict[str, Any]:
        """Some members form a new household; its address goes to the vault."""
        new_household = compute_household_pseudonym(self.node.suite, self.network_key, new_household_number)
        commitment = self._store(new_household, "household", {"address": address, "household_number": new_household_number})
        await self.submit(actor, "registry", "split_household", {"head": head, "household": household, "new_household": new_household,
                                                                 "persons": persons, "record_commitment": commitment})
        return {"household": self.node.store.get(get_household_key(household)), "new_household": self.node.store.get(get_household_key(new_household))}

    def _compute_person(self, member: dict[str, Any]) -> str:
        id_number = member.get("id_number")
        if type(id_number) is not str or not is_valid_resident_id(id_number):
            raise CaseworkError("a member's ID number is not a valid resident ID", code="invalid_id_number")
        return compute_person_pseudonym(self.node.suite, self.network_key, id_number)

    # --- the case workflow -----------------------------------------------------------------------

    async def apply(self, actor: StaffMember, *, application_id: str, household: str, programmes: list[str], channel: str,
                    application: dict[str, Any], related_to_staff: bool, entrustment: dict[str, Any] | None = None) -> dict[str, Any]:
        """One intake for several programmes; the application form goes to the vault."""
        args = {"application_commitment": self._store(household, "application", application), "application_id": application_id,
                "channel": channel, "household": household, "programmes": programmes, "related_to_staff": related_to_staff}
        if entrustment is not None:
            args["entrustment_commitment"] = self._store(household, "entrustment", entrustment)
        await self.submit(actor, "assistance", "apply", args)
        return {"cases": [self.get_case(f"{application_id}.{programme}") for programme in programmes]}

    async def record_authorisation(self, actor: StaffMember, case_id: str, authorisation: dict[str, Any]) -> dict[str, Any]:
        """The applicant's signed authorisation for the means test."""
        case = self.get_case(case_id)
        commitment = self._store(case["household"], "authorisation", authorisation)
        return await self._step(actor, "record_authorisation", case_id, authorisation_commitment=commitment)

    async def record_visit(self, actor: StaffMember, case_id: str, *, report: dict[str, Any], staff: list[str], by_county: bool) -> dict[str, Any]:
        """A visit record by two or more staff (their public keys)."""
        case = self.get_case(case_id)
        commitment = self._store(case["household"], "visit", report)
        return await self._step(actor, "record_visit", case_id, visit_commitment=commitment, staff=staff, by_county=by_county)

    async def record_means_test(self, actor: StaffMember, case_id: str, facts: dict[str, Any], *, source: str = "caseworker",
                                answers: list[dict[str, str]] | None = None) -> dict[str, Any]:
        """Evaluate the household's facts with the current pack; the facts go to the vault, the outcome on the ledger.

        ``source`` is ``caseworker`` for facts entered at the desk, ``data_sharing`` for facts the
        agencies answered (``answers`` then names each answer used, ``{record_id, query_id, digest}``, and
        the ledger checks every one against the agency's record).
        """
        case = self.get_case(case_id)
        household_facts, result, args = self._assess(case, self.get_current_pack(), facts, source, answers or [])
        self._store(case["household"], "household_facts", household_facts.to_json())
        await self._step(actor, "record_means_test", case_id, **args)
        return {"case": self.get_case(case_id), "result": result.to_json()}

    async def record_means_tests(self, actor: StaffMember, items: list[tuple[str, dict[str, Any], list[dict[str, str]]]]) -> list[dict[str, Any] | CaseworkError]:
        """``record_means_test`` from data sharing for many cases at once: ``items`` are (case id,
        facts, answers). The facts go to the vault in one transaction and the steps are ordered
        together, so a review cycle of thousands of households costs a few blocks, not thousands
        of round trips. Answers, in order, the case and result or the ``CaseworkError`` of each."""
        pack = self.get_current_pack()
        outcomes: list[dict[str, Any] | CaseworkError] = []
        prepared = []
        for case_id, facts, answers in items:
            try:
                case = self.get_case(case_id)
                household_facts, result, args = self._assess(case, pack, facts, "data_sharing", answers)
                prepared.append((len(outcomes), case, household_facts, result, {"case_id": case_id, **args}))
                outcomes.append(CaseworkError("not ordered", code="timeout", status=503))
            except CaseworkError as error:
                outcomes.append(error)
        self.vault.put_many([{"kind": "household_facts", "owner": self.organisation, "record": facts.to_json(), "subject": case["household"]}
                             for _, case, facts, _, _ in prepared])
        envelopes = [self._sign(actor, "assistance", "record_means_test", args) for *_, args in prepared]
        submissions = await self.node.submit_envelopes(envelopes)
        waits = [self._wait_final(envelope) if not isinstance(submission, LedgerInputError) else None for envelope, submission in zip(envelopes, submissions)]
        finals = await asyncio.gather(*(wait for wait in waits if wait is not None), return_exceptions=True)
        final_iterator = iter(finals)
        for (position, case, _, result, _), submission, wait in zip(prepared, submissions, waits):
            final = next(final_iterator) if wait is not None else submission
            if isinstance(final, LedgerInputError):
                outcomes[position] = final if isinstance(final, CaseworkError) else CaseworkError(str(final), code=final.code)
            else:
                outcomes[position] = {"case": self.get_case(case["id"]), "result": result.to_json(), "transaction": final["id"]}
        return outcomes

    def _assess(self, case: dict[str, Any], pack: PolicyPack, facts: dict[str, Any], source: str, answers: list[dict[str, str]]) -> tuple[Any, Any, dict[str, Any]]:
        """Evaluate facts for a case: the parsed facts, the result and the step's arguments."""
        try:
            household_facts = parse_household_facts(facts, pack)
            result = evaluate_eligibility(pack, case["programme"], case["region"], self._now_ms(), household_facts)
        except LedgerInputError as error:
            raise CaseworkError(str(error), code=error.code) from None
        args = {"pack_version": pack.version, "facts_digest": compute_facts_digest(self.node.suite, household_facts).hex(), "eligible": result.eligible,
                "category": result.category, "reasons": list(result.reasons), "household_size": result.members, "standard_fen": result.standard_fen,
                "monthly_benefit_fen": result.monthly_benefit_fen, "source": source, "income_unstable": household_facts.able_to_work_with_unstable_income}
        if answers:
            args["answers"] = sorted(answers, key=lambda item: item["query_id"])
        return household_facts, result, args

    async def give_opinion(self, actor: StaffMember, case_id: str, *, recommendation: str, reasons: list[str]) -> dict[str, Any]:
        return await self._step(actor, "give_opinion", case_id, recommendation=recommendation, reasons=reasons)

    async def start_notice(self, actor: StaffMember, case_id: str) -> dict[str, Any]:
        return await self._step(actor, "start_notice", case_id)

    async def object(self, actor: StaffMember, case_id: str, objection: dict[str, Any]) -> dict[str, Any]:
        case = self.get_case(case_id)
        return await self._step(actor, "object", case_id, objection_commitment=self._store(case["household"], "objection", objection))

    async def decide(self, actor: StaffMember, case_id: str, *, outcome: str, reasons: list[str], monthly_benefit_fen: int) -> dict[str, Any]:
        return await self._step(actor, "decide", case_id, outcome=outcome, reasons=reasons, monthly_benefit_fen=monthly_benefit_fen)

    async def issue_refusal_notice(self, actor: StaffMember, case_id: str, letter: dict[str, Any]) -> dict[str, Any]:
        case = self.get_case(case_id)
        return await self._step(actor, "issue_refusal_notice", case_id, letter_commitment=self._store(case["household"], "refusal_letter", letter))

    async def change_benefit(self, actor: StaffMember, case_id: str, *, change: str, monthly_benefit_fen: int, reasons: list[str]) -> dict[str, Any]:
        return await self._step(actor, "change_benefit", case_id, change=change, monthly_benefit_fen=monthly_benefit_fen, reasons=reasons)

    async def open_review(self, actor: StaffMember, case_id: str, *, reason: str, hold_payments: bool) -> dict[str, Any]:
        return await self._step(actor, "open_review", case_id, reason=reason, hold_payments=hold_payments)

    async def exit_case(self, actor: StaffMember, case_id: str, *, reasons: list[str]) -> dict[str, Any]:
        return await self._step(actor, "exit_case", case_id, reasons=reasons)

    async def record_fraud(self, actor: StaffMember, case_id: str, *, amount_fen: int, fine_fen: int, evidence: dict[str, Any]) -> dict[str, Any]:
        """Benefits obtained by fraud: stop, recover, fine; the evidence goes to the vault."""
        case = self.get_case(case_id)
        commitment = self._store(case["household"], "fraud_evidence", evidence)
        return await self._step(actor, "record_fraud", case_id, amount_fen=amount_fen, fine_fen=fine_fen, evidence_commitment=commitment)

    async def pay_first(self, actor: StaffMember, *, case_id: str, household: str, programme: str, amount_fen: int, reasons: list[str]) -> dict[str, Any]:
        """Temporary assistance: pay first within the township ceiling, register afterwards."""
        await self.submit(actor, "assistance", "pay_first", {"amount_fen": amount_fen, "case_id": case_id, "household": household,
                                                            "programme": programme, "reasons": reasons})
        return {"case": self.get_case(case_id)}

    # --- reading -----------------------------------------------------------------------------------

    def get_case(self, case_id: str) -> dict[str, Any]:
        """A case as the ledger holds it (no personal data in it)."""
        case = self.node.store.get(get_case_key(case_id))
        if case is None:
            raise CaseworkError(f"no case {case_id}", code="case_not_found", status=404)
        return case

    def require_case_in_region(self, actor: StaffMember, case_id: str) -> dict[str, Any]:
        """A case the actor may see: its region lies within theirs."""
        case = self.get_case(case_id)
        self.require_region(actor, case["region"])
        return case

    def list_cases(self, actor: StaffMember, *, region: str | None = None, status: str | None = None, overdue_only: bool = False) -> list[dict[str, Any]]:
        """Cases within the actor's region (and ``region``), by state; with their overdue steps."""
        now = self._now_ms()
        region = region or self.get_member(actor)["region"]
        self.require_region(actor, region)
        answers = []
        for _, case in self.node.store.iterate_state_prefix("assistance/case/"):
            if not is_within(case["region"], region) or (status and case["status"] != status):
                continue
            overdue = get_overdue_steps(case, now)
            if overdue_only and not overdue:
                continue
            answers.append({**case, "overdue": overdue})
        return answers

    def get_household_history(self, actor: StaffMember, household: str) -> dict[str, Any]:
        """A household and every case it had, across programmes."""
        record = self.node.store.get(get_household_key(household))
        if record is None:
            raise CaseworkError("no such household", code="household_not_found", status=404)
        self.require_region(actor, record["region"])
        cases = [case for _, case in self.node.store.iterate_state_prefix("assistance/case/") if case["household"] == household]
        return {"household": record, "cases": sorted(cases, key=lambda case: case["opened_ms"])}

    async def read_person(self, actor: StaffMember, person: str, *, purpose: str, case_id: str | None = None) -> list[dict[str, Any]]:
        """A person's vault records; each read is logged on the ledger first (no log, no data)."""
        record = self.node.store.get(get_person_key(person))
        if record is None:
            raise CaseworkError("no such person", code="person_not_found", status=404)
        self.require_region(actor, self.node.store.get(get_household_key(record["household"]))["region"])
        entries = [entry for entry in self.vault.list_records(person) if not entry.destroyed]
        records = []
        for entry in entries:
            args = {"purpose": purpose, "record_commitment": entry.commitment, "record_kind": entry.kind, "subject": person}
            if case_id is not None:
                args["case_id"] = case_id
            await self.submit(actor, "vault", "log_access", args)
            records.append({"kind": entry.kind, "commitment": entry.commitment, "record": self.vault.get(entry.record_id).record})
        return records

    async def erase_person(self, actor: StaffMember, person: str) -> dict[str, Any]:
        """Erase a person's data: destroy every vault record's key (the commitments stay, linking to
        nothing) and log the erasure on the ledger first, so the person can see it was done."""
        record = self.node.store.get(get_person_key(person))
        if record is None:
            raise CaseworkError("no such person", code="person_not_found", status=404)
        self.require_region(actor, self.node.store.get(get_household_key(record["household"]))["region"])
        erased = []
        for entry in self.vault.list_records(person):
            if entry.destroyed:
                continue
            await self.submit(actor, "vault", "log_access", {"purpose": "erasure", "record_commitment": entry.commitment,
                                                              "record_kind": entry.kind, "subject": person})
            self.vault.destroy(entry.record_id, compact=False)
            erased.append(entry.commitment)
        self.vault.compact()
        return {"erased_commitments": erased}

    def get_statistics(self, actor: StaffMember, region: str | None = None) -> dict[str, Any]:
        """Counts of cases by programme and state for each region directly below ``region``: what a
        higher level reads of the levels below, without any household."""
        region = region or self.get_member(actor)["region"]
        self.require_region(actor, region)
        counts: dict[str, dict[str, dict[str, int]]] = {}
        for _, case in self.node.store.iterate_state_prefix("assistance/case/"):
            if not is_within(case["region"], region):
                continue
            child = _get_child_region(case["region"], region)
            by_programme = counts.setdefault(child, {}).setdefault(case["programme"], {})
            by_programme[case["status"]] = by_programme.get(case["status"], 0) + 1
        return {"region": region, "regions": counts}

    def list_data_checks(self, actor: StaffMember, person: str) -> list[dict[str, Any]]:
        """Which agency answered (or refused) what kind of question about a person, when, for which case."""
        record = self.node.store.get(get_person_key(person))
        if record is None:
            raise CaseworkError("no such person", code="person_not_found", status=404)
        self.require_region(actor, self.node.store.get(get_household_key(record["household"]))["region"])
        checks = [answer for answer in list_answers(self.node.store.iterate_state_prefix("catalog/answers/")) if person in answer["persons"]]
        return sorted(checks, key=lambda answer: (answer["height"], answer["query_id"]))

    def list_agency_answers(self, actor: StaffMember, agency: str) -> list[dict[str, Any]]:
        """What a department was asked and what it answered, each with its transaction's inclusion proof."""
        member = self.get_member(actor)
        if member["organisation"] != agency and not {"auditor", "admin"} & set(member["roles"]):
            raise CaseworkError("a department's answers are read by that department or an auditor", code="not_authorised", status=403)
        answers = [answer for answer in list_answers(self.node.store.iterate_state_prefix("catalog/answers/")) if answer["agency"] == agency]
        return [{**answer, "proof": self.node.get_transaction_status(bytes.fromhex(answer["transaction"]))} for answer in sorted(answers, key=lambda item: item["height"])]

    def list_accesses(self, actor: StaffMember, subject: str) -> list[dict[str, Any]]:
        """Every logged read of a person's data (for the person, or a caseworker on their behalf)."""
        person = self.node.store.get(get_person_key(subject))
        if person is None:
            raise CaseworkError("no such person", code="person_not_found", status=404)
        self.require_region(actor, self.node.store.get(get_household_key(person["household"]))["region"])
        accesses = [value for _, value in self.node.store.iterate_state_prefix(get_access_prefix(subject))]
        return sorted(accesses, key=lambda access: (access["height"], access["time_ms"]))

    async def list_public_notices(self, actor: StaffMember, region: str) -> list[dict[str, Any]]:
        """The public notice board of a village or community: only the fields the pack permits, only while it runs."""
        self.require_region(actor, region)
        now = self._now_ms()
        pack = self.get_current_pack()
        board = []
        for _, case in self.node.store.iterate_state_prefix("assistance/case/"):
            notice = case["notice"]
            if case["status"] != "in_notice" or not is_within(case["region"], region) or not notice["start_ms"] <= now < notice["end_ms"]:
                continue
            household = self.node.store.get(get_household_key(case["household"]))
            entry = {"household_size": case["assessment"]["household_size"], "amount_fen": case["assessment"]["monthly_benefit_fen"],
                     "notice_ends_ms": notice["end_ms"]}
            if "name" in pack.public_notice.fields:
                head = await self.read_person(actor, household["head"], purpose="public_notice", case_id=case["id"])
                entry["name"] = next((item["record"].get("name") for item in head if item["kind"] == "person"), None)
            board.append({name: value for name, value in entry.items() if name in pack.public_notice.fields or name == "notice_ends_ms"})
        return board

    # --- plumbing ----------------------------------------------------------------------------------

    def get_member(self, actor: StaffMember) -> dict[str, Any]:
        """The actor's member record (roles, region) as the ledger holds it."""
        member = self.node.store.get(get_member_key(actor.key.public_key))
        if member is None or member["status"] != "active":
            raise CaseworkError("this staff member is not an active member of the chain", code="not_a_member", status=403)
        return member

    def require_region(self, actor: StaffMember, region: str) -> None:
        """403 unless ``region`` lies within the actor's."""
        member = self.get_member(actor)
        if not is_within(region, member["region"]):
            raise CaseworkError(f"region {region} is outside your region {member['region']}", code="not_authorised", status=403)

    def get_current_pack(self) -> PolicyPack:
        """The pack in force on the ledger."""
        current = self.node.store.get(CURRENT_KEY)
        if current is None:
            raise CaseworkError("no policy pack is published", code="policy_pack_not_found", status=404)
        return parse_policy_pack(self.node.store.get(get_pack_key(current["version"]))["document"])

    async def submit(self, actor: StaffMember, contract: str, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """Sign a step with the actor's key, preview it, order it and wait for its final status."""
        envelope = await self.order(actor, contract, action, args)
        return await self._wait_final(envelope)

    async def order(self, actor: StaffMember, contract: str, action: str, args: dict[str, Any], *, preview: bool = True) -> Envelope:
        """Sign a step, preview it (refused at once, with the reason, when it would fail) and hand it
        to the orderer without waiting: what comes after it in this process is ordered after it.
        ``preview=False`` saves executing a bulk step twice where its final status is checked later."""
        envelope = self._sign(actor, contract, action, args)
        code, reason = self.node.preview(envelope) if preview else (ResultCode.OK, "")
        if code is not ResultCode.OK:
            raise CaseworkError(reason, code=code.label, status=STATUS_BY_RESULT.get(code, 409))
        (accepted,) = await self.node.submit_envelopes([envelope])  # signed here: no need to parse it back
        if isinstance(accepted, LedgerInputError):
            raise CaseworkError(str(accepted), code=accepted.code, status=503 if accepted.code in ("busy", "halted") else 400)
        return envelope

    def _sign(self, actor: StaffMember, contract: str, action: str, args: dict[str, Any]) -> Envelope:
        body = TransactionBody(self.node.genesis.chain_id, contract, action, args, actor.key.public_key,
                               secrets.token_hex(8), self._now_ms() + VALIDITY_MS)
        return sign_transaction(actor.key.suite, actor.key.seed, body)

    async def _wait_final(self, envelope: Envelope) -> dict[str, Any]:
        status = await self.node.wait_for_final_status(envelope.id, FINAL_WAIT_S, with_proofs=False)
        if status is None or status["status"] == "pending":
            raise CaseworkError("the step was not committed in time; ask for its status later", code="timeout", status=503)
        if status["status"] == "rejected":
            code = ResultCode(status["code"])
            raise CaseworkError(f"refused when ordered: {code.label}", code=code.label, status=STATUS_BY_RESULT.get(code, 409))
        return status

    async def _step(self, actor: StaffMember, action: str, case_id: str, **args: Any) -> dict[str, Any]:
        transaction = await self.submit(actor, "assistance", action, {"case_id": case_id, **args})
        return {"case": self.get_case(case_id), "transaction": transaction["id"]}

    def _store(self, subject: str, kind: str, record: dict[str, Any]) -> str:
        return self.vault.put(subject=subject, kind=kind, owner=self.organisation, record=record).commitment

    def _now_ms(self) -> int:
        return max(self.node.clock_ms(), self.node.tip.time_ms)


def _get_child_region(code: str, ancestor: str) -> str:
    """The region directly below ``ancestor`` on the way to ``code`` (``code`` itself at the bottom)."""
    for candidate in [code, *get_ancestors(code)]:
        if get_parent(candidate) == ancestor or candidate == ancestor:
            return candidate
    return code


__all__ = ["Casework", "CaseworkError"]
