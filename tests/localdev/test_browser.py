"""The local Slack page in a real browser (Debian's Chromium, driven by Playwright)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.localdev.conftest import ALICE, BOB, CAROL, DevProcess

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 30_000
# A draft's card, before and after the decision (its heading changes with the outcome).
ANSWER_CARD = re.compile(r"(Approval needed|Approved|Edited and approved): the answer")
TOOL_CARD = re.compile(r"(Approval needed|Approved|Edited and approved): run post_slack_message")
expect.set_options(timeout=WAIT_MS)  # a run takes seconds; the default is 5


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"no Chromium at {CHROMIUM}: `make test` installs it (Debian's chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, dev: DevProcess) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 1400})
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(dev.url + "/")
    yield page
    context.close()


@pytest.fixture
def screenshots(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """Where screenshots go: the README's folder under ``make screenshots``, else a scratch
    folder (so every run takes them, and a broken screenshot fails here first)."""
    chosen = request.config.getoption("--screenshots")
    folder = Path(chosen) if chosen else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def send(page: Page, text: str) -> None:
    composer = page.get_by_label("Message")
    composer.fill(text)
    composer.press("Enter")


def test_a_task_typed_in_the_page_goes_through_an_approval(page: Page) -> None:
    task = "greet the new hire"
    send(page, f"/agent {task}")
    expect(page.get_by_text(f"On it: {task}")).to_be_visible()
    run = page.locator(".group", has_text=f"asked: {task}")
    card = run.locator(".message", has_text=ANSWER_CARD)
    expect(card.get_by_role("button", name="Approve")).to_be_visible()

    page.get_by_label("Acting as").select_option(BOB)
    expect(page.get_by_text(f"On it: {task}")).to_have_count(0)  # alice's ephemeral, not bob's
    card.get_by_role("button", name="Approve").click()

    expect(card.get_by_text("Approved by @bob")).to_be_visible()
    expect(card).not_to_contain_text("<!date")  # Slack's date tokens are rendered
    expect(card.get_by_role("button")).to_have_count(0)  # locked: no buttons left
    final_post = run.locator(".thread > .message").last  # delivered after the card
    expect(final_post).to_contain_text(task.capitalize())
    expect(final_post.get_by_role("button")).to_have_count(0)


def test_edit_in_a_modal_delivers_the_edited_text(page: Page) -> None:
    task = "write the offsite note"
    send(page, f"/agent {task}")
    card = page.locator(".group", has_text=f"asked: {task}").locator(
        ".message", has_text=ANSWER_CARD
    )
    page.get_by_label("Acting as").select_option(BOB)
    card.get_by_role("button", name="Edit").click()

    modal = page.get_by_role("dialog")
    field = modal.locator("textarea")
    expect(field).to_have_value(re.compile(re.escape(task), re.IGNORECASE))
    field.fill("The offsite is on Friday. Bring a jacket.")
    modal.locator("button.primary").click()  # the modal's submit

    expect(modal).to_have_count(0)
    delivered = page.locator(".group", has_text=f"asked: {task}").get_by_text(
        "The offsite is on Friday. Bring a jacket.", exact=True
    )
    expect(delivered).to_be_visible()


def test_a_gated_tool_call_is_refused_to_carol_approved_by_bob_then_posted(
    page: Page, screenshots: Path
) -> None:
    task = "post a summary of #ops to #general"
    send(page, f"/agent {task}")
    expect(
        page.get_by_text(f"On it: {task}")
    ).to_be_visible()  # #ops and #general as Slack shows them
    run = page.locator(".group", has_text=f"asked: {task}")
    card = run.locator(".message", has_text=TOOL_CARD)
    expect(card).to_contain_text("Deploy 1.4 is out on staging")  # what it read in #ops
    expect(card.locator(".mention", has_text="@bob")).to_be_visible()  # who may decide
    expect(page.locator("#messages")).not_to_contain_text("<@")  # mentions are names
    expect(page.locator("#messages")).not_to_contain_text("&lt;")

    page.get_by_label("Acting as").select_option(CAROL)
    card.get_by_role("button", name="Approve").click()
    refusal = run.locator(".thread .message.ephemeral", has_text="not one of the approvers")
    expect(refusal).to_be_visible()  # in the card's thread, only for carol
    expect(card.get_by_role("button", name="Approve")).to_be_visible()  # still waiting

    page.get_by_label("Acting as").select_option(BOB)
    expect(refusal).to_have_count(0)
    card.get_by_role("button", name="Approve").click()
    expect(card.get_by_text("Approved by @bob")).to_be_visible()
    posted = page.locator("#messages > .group > .message", has_text="Latest in #ops:")
    expect(posted).to_contain_text("carol: Deploy 1.4 is out on staging")  # in #general itself
    expect(posted.locator("time")).to_have_count(1)  # with its time, as Slack shows it
    draft = run.locator(".message", has_text=ANSWER_CARD)
    expect(draft).to_contain_text("Posted to #general")
    run.evaluate("thread => thread.scrollIntoView({block: 'start'})")  # the run from its start
    page.screenshot(path=str(screenshots / "local-slack.png"))

    draft.get_by_role("button", name="Approve").click()
    expect(draft.get_by_role("button")).to_have_count(0)


def test_a_dm_links_to_the_card_and_the_app_home_inbox_approves_it(
    page: Page, dev: DevProcess, screenshots: Path
) -> None:
    task = "write a note about the friday closure"
    send(page, f"/agent {task}")
    run = page.locator(".group", has_text=f"asked: {task}")
    card = run.locator(".message", has_text=ANSWER_CARD)
    expect(card.get_by_role("button", name="Approve")).to_be_visible()

    # The gate DMs each approver (bob) a link to the card as it posts it.
    _, listed = dev.api("GET", f"/runs?requester={ALICE}")
    run_id = next(r["run_id"] for r in listed["runs"] if r["task"] == task)
    page.get_by_label("Acting as").select_option(BOB)
    dm = page.locator("#dms button", has_text="signoff")
    expect(dm.locator(".badge")).to_be_visible()  # unread until bob opens it
    page.screenshot(path=str(screenshots / "local-slack-dms.png"))
    dm.click()
    expect(page.locator("#channel-title")).to_have_text("signoff (direct message)")
    said = page.locator("#messages .message").last  # the newest: this run's
    expect(said).to_contain_text("\U0001f4e5 You are asked to decide: the answer")
    expect(said).to_contain_text(run_id)
    expect(said).to_contain_text("Requested by @alice")
    expect(page.get_by_label("Message")).to_be_hidden()  # only the app writes there
    expect(dm.locator(".badge")).to_have_count(0)
    page.screenshot(path=str(screenshots / "local-slack-dm.png"))

    said.get_by_role("link", name="Open the card").click()  # the card's permalink
    expect(page.locator(".message.highlight")).to_contain_text("Approval needed: the answer")

    page.get_by_role("button", name="App Home").click()
    home = page.locator("#home")
    item = home.locator(".block.section", has_text=run_id)
    expect(item).to_contain_text("the answer")
    expect(item).to_contain_text("requested by @alice")
    its_buttons = item.locator("xpath=following-sibling::div[1]")  # the item's actions block
    expect(its_buttons.get_by_role("button")).to_have_text(["Approve", "Reject", "Open"])
    page.screenshot(path=str(screenshots / "local-slack-home.png"))
    its_buttons.get_by_role("button", name="Approve").click()

    expect(home).to_contain_text("You approved the answer")
    expect(home).not_to_contain_text(run_id)  # no longer waiting on bob
    page.screenshot(path=str(screenshots / "local-slack-home-approved.png"))
    page.locator("#channels button", has_text="general").click()
    expect(card.get_by_text("Approved by @bob")).to_be_visible()
    expect(card.get_by_role("button")).to_have_count(0)
