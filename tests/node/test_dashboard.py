"""The dashboard in a real browser: Debian's chromium driven by Playwright against a real node
process. The overview draws its charts (ECharts from the package, nothing from the network), the
language switches between Chinese and English, the ledger explorer lists blocks and opens one,
the reports view shows a level, and the pages fit a phone's screen."""

import hashlib
import time
from pathlib import Path

import httpx
import pytest

from node_support import NodeProcess, find_free_port, make_chain, sign_action
from reliefledger.node.keys import generate_key
from reliefledger.policy_files import get_default_policy_path, read_policy_pack
from reliefledger.report_rules import read_report_rules

CHROMIUM = Path("/usr/bin/chromium")
ARGUMENTS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian's chromium is not installed (make test installs it as root)")]


def commit(url: str, envelope) -> None:
    answer = httpx.post(f"{url}/v1/transactions", content=envelope.encoded, timeout=10)
    assert answer.status_code == 202, answer.text
    final = httpx.get(f"{url}/v1/transactions/{envelope.id.hex()}", params={"wait": 10}, timeout=20).json()
    assert final["status"] == "committed", final


def test_the_dashboard_in_a_real_browser(tmp_path: Path) -> None:
    from playwright.sync_api import sync_playwright

    directory = make_chain(tmp_path / "chain", organisations=("civil-affairs", "finance", "discipline-inspection"))
    port = find_free_port()
    node = NodeProcess(directory.root, port, tmp_path / "node.log")
    try:
        node.wait_ready()
        admin = directory.read_organisation_key("civil-affairs")
        policy = generate_key(admin.suite, "policy")
        commit(node.url, sign_action(admin, "admit_member", {"public_key": policy.public_key, "roles": ["policy_admin"], "region": "110000"}))
        commit(node.url, sign_action(policy, "publish_pack", {"document": read_policy_pack(get_default_policy_path())[0]}, contract="policy"))
        commit(node.url, sign_action(policy, "publish_rules", read_report_rules(), contract="reports"))
        for number, category in enumerate(("service_failure", "person_in_difficulty", "fund_problem")):
            commit(node.url, sign_action(admin, "file", {"report_id": f"r{number}", "region": "110105001", "category": category, "urgency": "normal",
                                                         "description_commitment": hashlib.sha256(str(number).encode()).hexdigest()}, contract="reports"))
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGUMENTS)
            page = browser.new_page()
            offline = []
            page.on("request", lambda request: offline.append(request.url) if not request.url.startswith(node.url) else None)
            page.goto(f"{node.url}/")
            page.wait_for_selector("body[data-charts-ready=yes]", timeout=15000)
            assert page.title() == "社会救助链" and page.locator("nav a").first.inner_text() == "总览"
            assert page.locator("#chart-reports canvas").count() == 1 and page.locator("#chart-assisted canvas").count() == 1
            page.click("#switch-language")
            page.wait_for_selector("body[data-charts-ready=yes]")
            assert page.title() == "ReliefLedger" and page.locator("nav a").first.inner_text() == "Overview"
            page.goto(f"{node.url}/ledger")  # the language is remembered
            assert page.locator("nav a").first.inner_text() == "Overview"
            assert page.locator("#blocks tbody tr").count() >= 6
            page.locator("#blocks tbody tr a").first.click()
            assert "reports.file" in page.locator("#transactions").inner_text()
            page.goto(f"{node.url}/reports-view?level=county&lang=zh")
            rows = page.locator("#report-overview tbody tr")
            assert rows.count() == 3 and "服务问题" in page.locator("#report-overview").inner_text()
            missing = page.goto(f"{node.url}/ledger/blocks/999")
            assert missing.status == 404
            page.goto(f"{node.url}/analytics")  # nothing exported on this node: the page says how to
            assert "reliefledger analytics export" in page.locator("#no-analytics").inner_text()
            page.goto(f"{node.url}/signin")  # a plain node has no demo members: read-only pages, no picker
            assert page.locator("#no-demo").count() == 1 and page.locator("#sign-in").count() == 0
            refused = httpx.post(f"{node.url}/cases/a1.dibao/decide", data={"outcome": "approve"}, timeout=10)
            assert refused.status_code == 401 and "not_signed_in" in refused.text
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(f"{node.url}/")
            phone.wait_for_selector("body[data-charts-ready=yes]")
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            phone.screenshot(path=str(tmp_path / "phone.png"))
            browser.close()
        assert offline == [], f"the dashboard reached outside the node: {offline}"
    finally:
        node.terminate()


ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


def test_the_demo_city_in_a_real_browser_with_screenshots_of_every_page(tmp_path: Path) -> None:
    """``reliefledger demo --households 40`` as a process; every page from its ledger; one figure checked
    against an independent count over the SQLite store; screenshots into artifacts/screenshots."""
    import json
    import sqlite3
    import subprocess

    from playwright.sync_api import sync_playwright

    from node_support import reliefledger_command

    port = find_free_port()
    log = open(tmp_path / "demo.log", "wb")
    demo = subprocess.Popen(reliefledger_command("demo", "--households", 40, "--port", port, "--dir", tmp_path / "city"), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert demo.poll() is None, (tmp_path / "demo.log").read_text()
            try:
                if httpx.get(f"{url}/v1/status", timeout=1).status_code == 200 and b"dashboard:" in (tmp_path / "demo.log").read_bytes():
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "demo.log").read_text()
            time.sleep(0.2)
        figures = httpx.get(f"{url}/dashboard/data/overview", timeout=10).json()
        # An independent count over the store, with SQLite and JSON only.
        with sqlite3.connect(f"file:{tmp_path / 'city' / 'ledger.sqlite'}?mode=ro", uri=True) as connection:
            statuses = [json.loads(value)["status"] for (value,) in connection.execute("SELECT value FROM state WHERE key >= 'assistance/case/' AND key < 'assistance/case0'")]
            enrolled, cases = statuses.count("enrolled"), len(statuses)
        assert enrolled > 0 and figures["assisted"]["dibao"] == enrolled
        # And the money paid, by an independent sum: every payment to a household once, at its posted amount.
        with sqlite3.connect(f"file:{tmp_path / 'city' / 'ledger.sqlite'}?mode=ro", uri=True) as connection:
            rows = dict(connection.execute("SELECT key, value FROM state WHERE key >= 'money/' AND key < 'money0'").fetchall())
        paid = {"CNY": 0, "CNY-DC": 0}
        for key, value in rows.items():
            transfer = json.loads(value)
            if key.startswith("money/transfer/") and transfer["code"] in (101, 500, 501) and transfer["status"] == "posted" and not transfer["pending_id"]:
                paid[json.loads(rows[f"money/account/{transfer['credit_account_id']}"])["currency"]] += transfer["posted_amount"]
        assert paid["CNY"] > 0 and figures["paid_fen"] == {"wallet": paid["CNY-DC"], "bank": paid["CNY"]}
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGUMENTS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{url}/?lang=zh")
            page.wait_for_selector("body[data-charts-ready=yes]", timeout=15000)
            page.wait_for_timeout(500)  # the charts' entrance animation
            assert all(page.locator(f"#chart-{name} canvas").count() == 1 for name in ("assisted", "paid", "reports", "deadlines", "agencies"))
            assert set(figures["agencies"]) == set(AGENCIES) and all(agency["answers"] > 0 for agency in figures["agencies"].values())
            assert figures["deadlines"]["investigation_start"] == {"met": cases, "late": 0, "overdue": 0}  # every case was visited on its first day
            page.screenshot(path=str(ARTIFACTS / "overview.png"), full_page=True)
            for path, selector, name in (("/cases", "#case-queue tbody tr", "cases"), ("/directory", "#resources tbody tr", "directory"),
                                         ("/analytics", "#analytics-coverage tbody tr", "analytics"),
                                         ("/ledger", "#blocks tbody tr", "ledger"), ("/reports-view?level=county", "#report-overview tbody tr", "reports")):
                page.goto(url + path)
                assert page.locator(selector).count() > 0, path
                page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
            assert page.locator("#report-overview").inner_text().count("110") > 0
            page.goto(f"{url}/analytics")  # the models in service on the ledger, and the tasks they raised for people
            assert page.locator("#models tbody tr").count() == 3 and page.locator("#model-tasks tbody tr").count() >= 1
            page.goto(f"{url}/directory")
            assert page.locator("#answers tbody tr").count() > 0  # every answer an agency gave the means tests is on the ledger
            page.goto(f"{url}/beneficiary")
            households = [link.get_attribute("href") for link in page.locator("#households a").all()]
            applied = []
            for link in households:  # one household in ten never applied: its page lists no application and no agency read its data
                page.goto(url + link)
                if "最低生活保障" in page.locator("#applications").inner_text():  # a dibao application, means-tested across the agencies
                    applied.append(link)
            assert applied, households
            page.goto(url + applied[0])
            reads = page.locator("#who-read tbody tr").count()
            assert reads in (9, 18)  # nine agencies answered each means test (twice after an objection or a review)
            page.screenshot(path=str(ARTIFACTS / "beneficiary.png"), full_page=True)
            page.goto(f"{url}/beneficiary")
            merchants = [link.get_attribute("href") for link in page.locator("#merchants a").all()]
            takings = {}
            for link in merchants:  # every merchant's page opens; the city's shoppers paid at some of them
                page.goto(url + link)
                takings[link] = page.locator("#takings tbody tr").count()
            assert len(merchants) >= 5 and sum(takings.values()) > 0, takings
            page.goto(url + max(takings, key=takings.get))
            page.screenshot(path=str(ARTIFACTS / "merchant.png"), full_page=True)
            assert page.goto(f"{url}/beneficiary/{'0' * 64}").status == 404 and page.goto(f"{url}/merchant/Not%20One").status == 404
            take_steps_from_the_pages(browser, url, figures)
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(f"{url}/?lang=en")
            phone.wait_for_selector("body[data-charts-ready=yes]")
            phone.wait_for_timeout(500)
            phone.screenshot(path=str(ARTIFACTS / "overview-phone-en.png"), full_page=True)
            browser.close()
    finally:
        demo.terminate()
        demo.wait(20)
        log.close()


AGENCIES = ("tax", "human-resources", "natural-resources", "public-security", "market-regulation", "housing-fund", "operator-bank", "medical-security", "utilities")


def sign_in(page, url: str, member: str) -> None:
    """Pick a member on the demo's sign-in page; the picker sends the visitor to their home page."""
    page.goto(f"{url}/signin")
    with page.expect_navigation():
        page.click(f"button[value='{member}']")
    assert page.locator("#signed-in-as").count() == 1


def take_steps_from_the_pages(browser, url: str, figures: dict) -> None:
    """The county's approver decides the case left awaiting it; the finance officer pays the next
    month; the household sees the payment; a merchant takes a payment and is refused one above the
    wallet's per-payment limit; bad input is refused with a code. Screenshots of each page."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{url}/signin?lang=zh")
    page.screenshot(path=str(ARTIFACTS / "signin.png"), full_page=True)
    sign_in(page, url, "staff:county")
    assert page.url.endswith("/cases")
    waiting = page.locator("#case-queue tbody tr", has_text="公示中")
    assert waiting.count() == 1  # the demo left one case past its notice for the county
    waiting.locator("a").first.click()
    case_id = page.locator("#case-id").inner_text()
    history = page.locator("#history tbody tr")
    assert history.count() == 6 and page.locator("#case-answers tbody tr").count() == 9
    receipt = httpx.get(url + page.locator("#history tbody tr a", has_text="回执").first.get_attribute("href"), timeout=10).json()
    assert receipt["status"]["status"] == "committed" and receipt["proof"]["tree_size"] >= 1  # each step's receipt carries its inclusion proof
    with page.expect_navigation() as decided:
        page.click("#approve")
    assert decided.value.status == 200 and page.locator("#message").count() == 1
    assert page.locator("#case-status").inner_text() == "在册" and history.count() == 7 and page.locator("#approve").count() == 0
    assert page.locator("#deadlines td[data-state=late]").count() >= 1  # decided weeks after the county's deadline, and the page says so
    page.screenshot(path=str(ARTIFACTS / "case.png"), full_page=True)
    household = page.locator("#household-link").get_attribute("href").rsplit("/", 1)[1]
    benefit = page.inner_text("main")  # the monthly amount is on the page
    with page.expect_navigation():
        page.click("#sign-out")
    sign_in(page, url, "staff:finance")
    assert page.url.endswith("/payments") and page.locator("#runs tbody tr").count() == 1
    month = page.locator("#run-month").input_value()
    with page.expect_navigation() as paid:
        page.click("#pay-month")
    assert paid.value.status == 200 and page.locator("#runs tbody tr").count() == 2 and month in page.locator("#run-figures").inner_text()
    page.screenshot(path=str(ARTIFACTS / "payments.png"), full_page=True)
    with page.expect_navigation():
        page.click("#sign-out")
    sign_in(page, url, f"household:{household}")
    received = page.locator("#received tbody tr")
    amounts = [received.nth(index).locator("td").nth(1).inner_text() for index in range(received.count())]
    assert any(amount in benefit for amount in amounts), (amounts, benefit)  # the approved household's first benefit, from the run just made
    page.screenshot(path=str(ARTIFACTS / "beneficiary-paid.png"), full_page=True)
    page.goto(f"{url}/cases/{case_id}")
    assert page.locator("#case-payments tbody tr").count() == 1 and f"dibao.{month}.{case_id}" in page.locator("#case-payments").inner_text()
    with page.expect_navigation():
        page.click("#sign-out")
    sign_in(page, url, "merchant:m0000")
    before = page.locator("#takings tbody tr").count()
    page.fill("#till-amount", "12.50")
    with page.expect_navigation() as taken:
        page.click("#take-payment")
    assert taken.value.status == 200 and page.locator("#message").count() == 1 and page.locator("#takings tbody tr").count() == before + 1
    page.screenshot(path=str(ARTIFACTS / "merchant-till.png"), full_page=True)
    page.fill("#till-amount", "60000")  # above the upgraded wallet's 50,000-yuan per-payment limit
    with page.expect_navigation() as refused:
        page.click("#take-payment")
    assert refused.value.status == 409 and page.locator("#error").get_attribute("data-code") == "wallet_per_payment_limit"
    assert page.locator("#takings tbody tr").count() == before + 1  # nothing moved
    page.screenshot(path=str(ARTIFACTS / "merchant-refused.png"), full_page=True)
    page.fill("#till-amount", "12.345")
    with page.expect_navigation() as bad:
        page.click("#take-payment")
    assert bad.value.status == 400 and page.locator("#error").get_attribute("data-code") == "invalid_amount"
    cookies = {cookie["name"]: cookie["value"] for cookie in page.context.cookies()}
    page.close()
    # Bad input straight to the endpoints: clear 4xx answers, never a 500.
    assert httpx.post(f"{url}/signin", data={"member": "staff:nobody"}, timeout=10).status_code == 400
    not_utf8 = {"content": b"member=\xff\xfe", "headers": {"content-type": "application/x-www-form-urlencoded"}, "timeout": 10}
    assert httpx.post(f"{url}/signin", **not_utf8).status_code == 400
    assert httpx.post(f"{url}/merchant/m0000/accept", cookies=cookies, **not_utf8).status_code == 400
    assert httpx.post(f"{url}/payments/run", data={"month": "2026-12"}, timeout=10).status_code == 401
    assert httpx.post(f"{url}/merchant/m0000/accept", data={"wallet": "w999999", "amount": "1"}, cookies=cookies, timeout=10).status_code == 400
    assert httpx.post(f"{url}/merchant/m0001/accept", data={"wallet": "w0", "amount": "1"}, cookies=cookies, timeout=10).status_code == 401
    finance = {"reliefledger_member": "staff:finance"}
    assert httpx.post(f"{url}/payments/run", data={"month": "2026-13"}, cookies=finance, timeout=10).status_code == 400
    assert httpx.post(f"{url}/payments/run", data={"month": "2026-12\n"}, cookies=finance, timeout=10).status_code == 400
    far = httpx.post(f"{url}/payments/run", data={"month": "9999-12"}, cookies=finance, timeout=10)
    assert far.status_code == 409 and "cannot be paid yet" in far.text  # a run pays at most the coming month
    assert httpx.post(f"{url}/cases/{case_id}/decide", data={"outcome": "approve"}, cookies={"reliefledger_member": "staff:county"}, timeout=10).status_code == 409
    assert httpx.post(f"{url}/cases/{case_id}/decide", data={"outcome": "maybe"}, cookies={"reliefledger_member": "staff:county"}, timeout=10).status_code == 400
