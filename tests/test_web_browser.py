"""End to end in a real browser: Playwright drives Debian's chromium against a uvicorn server on 127.0.0.1.

Ask a question (streamed in by app.js), follow a citation to its reference, ask a follow-up, switch audience;
then the README's two-reviewer flow as written: its `medcite user add` commands create the accounts, one reviewer
submits the answer as an article and edits it, the other takes and approves it, and an anonymous visitor reads it.
Saves a screenshot of the published article under tmp_path (`make screenshots` writes it to
docs/screenshots/answer.png instead, through MEDCITE_SCREENSHOT). Skipped without chromium or playwright — except on
CI (CI=true), where that is a failure: `apt-get install -y chromium` and `pip install playwright==1.65.2`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from web_fixtures import PASSWORD, QUESTION, live_server  # noqa: F401

README = Path(__file__).resolve().parents[1] / "README.md"

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
#: where `make screenshots` wants the page saved; a plain test run leaves the checkout untouched
SCREENSHOT = os.environ.get("MEDCITE_SCREENSHOT")


def _need(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(reason + " (required on CI)")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need("playwright is not installed")
    if not CHROMIUM.exists():
        _need(f"{CHROMIUM} not found: apt-get install -y chromium")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        yield b
        b.close()


def _login(page, base: str, name: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("form.stack button[type=submit]")
    page.wait_for_selector(f"text={name}")


def _logout(page) -> None:
    page.click("header.site button.link")
    page.wait_for_selector("a.signin")


def test_ask_cite_follow_up_review_and_publish(browser, live_server, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    base, env = live_server
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    # ask: app.js streams the answer in and moves the address bar to the thread
    page.goto(base + "/")
    expect(page.get_by_text("Which best describes you?")).to_be_visible()
    page.fill("#question", QUESTION)
    page.check("input[name=audience][value=clinician]")
    page.click("#ask-form button[type=submit]")
    expect(page.locator("#answer-stream .bottom-line")).to_be_visible()
    expect(page.locator("#answer-stream .references")).to_be_visible()
    page.wait_for_url(re.compile(r"/thread/[0-9a-f]+$"))
    thread_url = page.url
    expect(page.locator("h1.question")).to_have_text(QUESTION)

    # a citation marker jumps to its reference
    page.locator("sup.cite a").first.click()
    assert page.url.endswith("#ref-1")
    expect(page.locator("#ref-1")).to_be_in_viewport()
    expect(page.locator("#ref-1 .label")).to_have_text("Guideline")

    # follow-up (a plain form POST) → the thread with both turns
    page.fill("#follow-q", "Which medicine should be used?")
    page.click("#follow-up button[type=submit]")
    page.wait_for_url(re.compile(r"/thread/[0-9a-f]+#turn-2$"))
    expect(page.locator("h2.question")).to_have_text("Which medicine should be used?")
    assert page.url.split("#")[0] == thread_url

    # audience switch re-renders the same question for patients
    page.locator("#turn-1 a.switch-link").click()
    expect(page.locator("strong.aud-name").first).to_have_text("patients")
    expect(page.locator("h1.question")).to_have_text(QUESTION)

    # the README's accounts, created by its own commands (passwords on standard input)
    passwords, (first, second) = _readme_accounts(env.db)

    # the first reviewer submits the answer as an article and edits it
    _login(page, base, first, passwords[first])
    page.goto(thread_url)
    page.locator("button", has_text="Submit as article").first.click()
    page.wait_for_url(re.compile(r"/articles/[0-9a-f]+/review$"))
    review_url = page.url
    article_url = review_url.rsplit("/", 1)[0]
    refs = page.locator(".preview .ref-list > li")
    before = refs.count()
    assert before >= 2
    expect(page.locator("#approve")).to_have_count(0)  # nobody approves their own submission
    # drop the one section citing the systematic review: its reference goes, the rest are renumbered
    heading = page.locator("input[name^=heading_][value='What the evidence says']")
    index = heading.get_attribute("name").split("_")[1]
    heading.fill("")
    page.fill(f"#markdown_{index}", "")
    page.fill("#headline", "Treating high blood pressure in pregnancy")
    page.fill("#edit-note", "the review is about adults in general")
    page.locator("#edit button[type=submit]").click()
    page.wait_for_url(re.compile(r"/review#versions$"))
    expect(refs).to_have_count(before - 1)
    expect(page.locator(".preview .label-systematic_review")).to_have_count(0)
    _logout(page)

    # anonymous visitors cannot see the draft
    page.goto(article_url)
    assert "/login" in page.url

    # the second reviewer takes and approves it
    _login(page, base, second, passwords[second])
    page.goto(review_url)
    page.click("#take")
    page.click("#approve")
    page.wait_for_url(article_url)
    expect(page.locator(".status-strip .current")).to_have_text("Approved")
    _logout(page)

    # …and now everybody can read it
    page.goto(base + "/articles")
    page.get_by_role("link", name=QUESTION).first.click()
    page.wait_for_url(article_url)
    expect(page.locator(".status-strip .current")).to_have_text("Approved")
    expect(page.get_by_text(f"Reviewed by {second}")).to_be_visible()
    expect(page.locator(".topic-headline")).to_have_text("Treating high blood pressure in pregnancy")
    expect(page.locator(".ref-list > li")).to_have_count(before - 1)
    shot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "answer.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert not [e for e in errors if "Content Security Policy" in e], errors
    context.close()


def _readme_accounts(db: Path) -> tuple[dict[str, str], tuple[str, str]]:
    """Run the README's `echo '…' | medcite user add NAME --role ROLE` lines on ``db``; the two reviewers' names."""
    from typer.testing import CliRunner

    from medcite.cli import app

    lines = re.findall(r"^echo '([^']+)' \| \.venv/bin/medcite user add (\S+) --role (\S+)$",
                       README.read_text(encoding="utf-8"), re.M)
    assert len(lines) >= 3, "the README shows how to create an admin and two reviewers"
    passwords: dict[str, str] = {}
    for password, name, role in lines:
        res = CliRunner().invoke(app, ["--db", str(db), "user", "add", name, "--role", role], input=password + "\n")
        assert res.exit_code == 0, res.output
        passwords[name] = password
    listed = CliRunner().invoke(app, ["--db", str(db), "user", "list"])
    assert listed.exit_code == 0 and all(name in listed.output for name in passwords)
    reviewers = [name for _, name, role in lines if role == "reviewer"]
    assert len(reviewers) == 2, reviewers
    return passwords, (reviewers[0], reviewers[1])
