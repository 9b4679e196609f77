"""From the ledger to a person's queue: a death is recorded, the next month's run still pays the
household's unchanged benefit, the export and the checks find it, the rule set is put in service
on the ledger, the alert is filed once as a report naming it, and a person at finance decides."""

import asyncio
from pathlib import Path


from city_support import build_city
from reliefledger.analytics.alerts import file_alerts, get_rules_parameters_digest, put_rules_in_service
from reliefledger.analytics.checks import Alert, run_checks
from reliefledger.analytics.export import export_projections
from reliefledger.analytics.queries import open_analytics
from reliefledger.ledger.contracts.reports import get_report_key
from reliefledger.node.desk import admit_staff, open_desk
from reliefledger.node.disbursement import get_next_month
from reliefledger.node.directory import ChainDirectory
from reliefledger.node.reports import ReportDesk
from reliefledger.node.runtime import open_node, read_clock_ms
from reliefledger.node.staff import StaffDirectory
from reliefledger.sim.scenario import pay_month



def test_a_payment_after_a_recorded_death_becomes_a_task_that_a_person_decides(tmp_path: Path) -> None:
    root = tmp_path / "city"
    build_city(root, households=40)
    directory = ChainDirectory(root)

    async def scenario() -> tuple:
        async with open_node(directory, clock_ms=read_clock_ms) as node:
            with open_desk(directory, node, directory.read_settings(), clock_ms=read_clock_ms) as casework:
                staff = StaffDirectory(directory)
                # The demo city has its analyst (issue 9's models are in service there too).
                enrolled = next(case for _, case in node.store.iterate_state_prefix("assistance/case/")
                                if case["status"] == "enrolled" and len(node.store.get(f"registry/household/{case['household']}")["members"]) >= 2)
                household = node.store.get(f"registry/household/{enrolled['household']}")
                await admit_staff(directory, node, organisation="finance", label="finance-desk", roles=["report_handler"], region=enrolled["region"][:6])
                deceased = next(member for member in household["members"] if member != household["head"])
                await casework.change_household(staff.get("cw"), "record_death", {"person": deceased})
                runs = sorted(key.rsplit("/", 1)[1] for key, _ in node.store.iterate_state_prefix("money/run/dibao/110000/"))
                await pay_month(node, staff.get("finance").key, get_next_month(runs[-1]))  # the benefit was not changed: paid as before
                export_projections(directory.store_path, root / "alerts-store")
                connection = open_analytics(root / "alerts-store")
                alerts = run_checks(connection)
                connection.close()
                analyst = staff.get("analyst")
                await put_rules_in_service(casework, analyst, "rules-2026-11", calibration_digest="ab" * 32, evaluation={"recall_bp": 10_000, "precision_bp": 10_000})
                first = await file_alerts(casework, analyst, alerts, "rules-2026-11", fallback_region="110000")
                again = await file_alerts(casework, analyst, alerts, "rules-2026-11", fallback_region="110000")
                death_alert = next(alert.alert_id for alert in alerts if alert.check == "paid_after_death")
                filed = node.store.get(get_report_key(death_alert))
                subject = node.suite.compute_hash(f"reliefledger.report/{death_alert}".encode()).hex()
                (entry,) = [entry for entry in casework.vault.list_records(subject) if entry.commitment == filed["description_commitment"]]
                note = casework.vault.get(entry.record_id).record
                desk = ReportDesk(casework)
                handler = staff.get("finance-desk")
                await desk.step(handler, "acknowledge", death_alert)
                resolved = await desk.step(handler, "resolve", death_alert, outcome="confirmed",
                                           outcome_commitment=desk.store_note(death_alert, "report_outcome", {"reasons": ["the member died; benefit to be recalculated"]}))
                await casework.submit(analyst, "models", "retire_model", {"model_id": "rules-2026-11", "reason": "replaced"})
                after_retirement = await file_alerts(casework, analyst, [Alert("paid_after_death", "another-case", "110105", 1, ("x",))],
                                                     "rules-2026-11", fallback_region="110000")
                refused_subject = node.suite.compute_hash(f"reliefledger.report/{Alert('paid_after_death', 'another-case', '110105', 1, ('x',)).alert_id}".encode()).hex()
                assert [entry for entry in casework.vault.list_records(refused_subject) if not entry.destroyed] == []  # the refused alert left nothing readable
                model = node.store.get("models/model/rules-2026-11")
                return enrolled, alerts, first, again, filed, note, resolved, model, after_retirement

    enrolled, alerts, first, again, filed, note, resolved, model, after_retirement = asyncio.run(scenario())
    found = [alert for alert in alerts if alert.check == "paid_after_death"]
    assert [alert.subject for alert in found] == [enrolled["id"]] and len(found[0].evidence) == 1  # the month paid after the death, and only it
    assert found[0].alert_id in first.filed and set(first.filed) <= set(again.already_filed) and not again.filed and not first.refused
    assert filed["channel"] == "analytics" and filed["model_id"] == "rules-2026-11" and filed["holder"]["organisation"] == "finance"
    assert note["alert"]["evidence"] == list(found[0].evidence) and note["alert"]["check"] == "paid_after_death"  # the evidence travels with the task
    assert resolved["report"]["status"] == "resolved" and resolved["report"]["outcome"]["code"] == "confirmed"  # a person decided
    assert model["parameters_digest"] == get_rules_parameters_digest() and model["status"] == "retired"
    assert not after_retirement.filed and [reason.split(":")[0] for reason in after_retirement.refused.values()] == ["model_retired"]  # a retired model raises no more
