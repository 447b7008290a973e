"""Input that used to get a 5xx: each gets a 4xx naming what was wrong, or works."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from agent.json_limits import MAX_JSON_DEPTH
from tests.api.conftest import ApiClient, ApiFactory
from tests.scenarios.claude_scripts import by_turn, draft
from tests.slack_app.conftest import wait_for

BODY_ROUTES = (
    "/runs",
    "/approvals/ap_00000000000000000000000000000000/decision",
    "/runs/api-abc/cancel",
    "/callbacks/jb_00000000000000000000000000000000.secret",
    "/callbacks/jb_00000000000000000000000000000000.secret/heartbeat",
)
SSO_ARN = (
    "arn:aws:sts::123456789012:assumed-role/"
    "AWSReservedSSO_PlatformEngineerAccess_0123456789abcdef/alice.example@example.com"
)
IAM_USER_ARN = "arn:aws:iam::123456789012:user/" + "team/" * 100 + "release-bot"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def cursor_of(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


@pytest.mark.parametrize("route", BODY_ROUTES)
def test_deeply_nested_json_gets_a_400_on_every_route_that_takes_a_body(
    make_api: ApiFactory, route: str
) -> None:
    api = make_api(by_turn())
    for raw in (nested(5_000), '{"task": "t", "extra": ' + nested(MAX_JSON_DEPTH) + "}"):
        status, body = api.call("POST", route, raw=raw)
        assert status == 400, (route, status, body)
        assert f"levels deep, deeper than the {MAX_JSON_DEPTH} allowed" in body["error"]


def test_json_nested_within_the_limit_is_read_as_usual(make_api: ApiFactory) -> None:
    api = make_api(by_turn())
    within = '{"task": "t", "extra": ' + nested(MAX_JSON_DEPTH - 1) + "}"
    status, body = api.call("POST", "/runs", raw=within)
    assert status == 422 and "extra" in body["error"]  # read, then refused for its field


def test_the_size_limit_counts_bytes_not_characters(make_api: ApiFactory) -> None:
    api = make_api(by_turn())
    two_byte_chars = json.dumps({"task": "é" * 40_000}, ensure_ascii=False)
    assert len(two_byte_chars) < 65_536 < len(two_byte_chars.encode())
    status, body = api.call("POST", "/runs", raw=two_byte_chars)
    assert status == 413 and "bytes" in body["error"]
    status, body = api.call("POST", "/runs", raw=json.dumps({"task": "x" * 60_000}))
    assert status == 422 and "task" in body["error"]  # under the limit: read, then refused


def start_runs(api: ApiClient, requester: str, count: int) -> list[str]:
    run_ids = [
        api.call("POST", "/runs", {"task": f"t{i}", "requester": requester})[1]["run_id"]
        for i in range(count)
    ]
    store = api.stack.agent.deps.store
    for run_id in run_ids:
        wait_for(lambda r=run_id: (run := store.get_run(r)) and run.get("execution_arn"), "run")
    return run_ids


def test_a_forged_or_foreign_cursor_gets_a_400_naming_the_cursor(make_api: ApiFactory) -> None:
    api = make_api(by_turn(draft("x"), draft("x"), draft("x")))
    start_runs(api, "UPAGER", 3)
    _, by_requester = api.call("GET", "/runs", query={"requester": "UPAGER", "limit": "1"})
    _, everyone = api.call("GET", "/runs", query={"limit": "1"})
    forged = [
        "!!!",
        cursor_of([1, 2]),
        cursor_of({"anything": "goes"}),
        cursor_of({"pk": "RUN#x", "sk": 7}),
        cursor_of({"pk": "RUN#x", "sk": "RUN", "gsi_requester": "UPAGER"}),
        cursor_of({"pk": "RUN#x", "sk": "x" * 3_000}),
        base64.urlsafe_b64encode(nested(5_000).encode()).decode(),
        everyone["cursor"][:-4],
    ]
    for cursor in forged:
        status, body = api.call("GET", "/runs", query={"cursor": cursor})
        assert status == 400 and "cursor" in body["error"], (cursor[:40], status, body)
    # A real cursor, but for another listing.
    status, body = api.call("GET", "/runs", query={"cursor": by_requester["cursor"]})
    assert status == 400 and "cursor" in body["error"]
    query = {"requester": "UOTHER", "cursor": by_requester["cursor"]}
    status, body = api.call("GET", "/runs", query=query)
    assert status == 400 and "another requester" in body["error"]
    # The real ones still turn the page.
    query = {"requester": "UPAGER", "limit": "1", "cursor": by_requester["cursor"]}
    status, page = api.call("GET", "/runs", query=query)
    assert status == 200 and len(page["runs"]) == 1
    assert page["runs"][0]["run_id"] != by_requester["runs"][0]["run_id"]
    assert api.call("GET", "/runs", query={"limit": "1", "cursor": everyone["cursor"]})[0] == 200


@pytest.mark.parametrize("arn", [SSO_ARN, IAM_USER_ARN], ids=["sso role session", "long path"])
def test_a_caller_with_a_long_iam_arn_starts_reads_and_lists_runs(
    make_api: ApiFactory, arn: str
) -> None:
    assert len(arn) > 100
    api = make_api(by_turn(draft("x")))
    status, accepted = api.call("POST", "/runs", {"task": "t"}, token=None, iam_arn=arn)
    assert status == 202, accepted
    path = f"/runs/{accepted['run_id']}"
    view = wait_for(
        lambda: (answer := api.call("GET", path, token=None, iam_arn=arn))[0] == 200 and answer[1],
        "the run",
    )
    assert view["requester"] == arn
    listed = wait_for(
        lambda: api.call("GET", "/runs", query={"requester": arn}, token=None, iam_arn=arn)[1][
            "runs"
        ],
        "the caller's runs",
    )
    assert [run["run_id"] for run in listed] == [accepted["run_id"]]
    status, usage = api.call("GET", "/usage", query={"requester": arn}, token=None, iam_arn=arn)
    assert status == 200 and usage["requester"]["runs"] == 1


def test_a_principal_too_long_to_be_a_key_gets_a_422_naming_the_requester(
    make_api: ApiFactory,
) -> None:
    api = make_api(by_turn())
    too_long = "arn:aws:iam::123456789012:user/" + "x" * 2_100
    status, body = api.call("POST", "/runs", {"task": "t"}, token=None, iam_arn=too_long)
    assert status == 422 and "requester" in body["error"]
