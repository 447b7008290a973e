"""Runs and approvals in one DynamoDB table (boto3), keyed ``pk``/``sk``.

    RUN#<run_id>            / RUN        the run: who, where, status, progress message
    APPROVAL#<approval_id>  / APPROVAL   one gate: the record the card is rendered from,
                                         plus the callback id, which never leaves the backend
    JOB#<job_id>            / JOB        one long-running tool call that completes by webhook:
                                         its callback id and the secret of its completion URL
    AUDIT#<run_id>          / 0000…1, HEAD  the run's audit log (agent.storage.audit)

Writes that decide something (creating a gate, claiming it) are conditional, so concurrent
or repeated callers agree on one outcome.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from agent.models import APPROVAL_ID, JOB_ID, RUN_ID, ApprovalRecord, ApprovalState

BACKEND_ONLY = (
    "pk",
    "sk",
    "callback_id",
    "claim_owner",
    "claimed_at",
    "claimed_by",
    "pending",
    "gsi_requester",
    "gsi_channel",
    "secret",
    "ttl",
)
# Sparse indexes: runs by requester and by channel, approvals while they wait for a decision.
REQUESTER_INDEX = "by_requester"
CHANNEL_INDEX = "by_channel"
PENDING_INDEX = "pending"
AUDIT_INDEX = "audit_by_day"  # audit entries by UTC day, in time order (agent.storage.audit)
# What a usage report reads of each run, and how many runs one report reads at most.
USAGE_FIELDS = ("run_id", "created_at", "usage", "usage_by_model", "cost_usd")
USAGE_SCAN_LIMIT = 10_000


# Ids come from clicks, URLs and API paths: one that cannot be ours names nothing (and never
# reaches DynamoDB, which refuses keys over 2 KB).
_RUN_ID, _APPROVAL_ID, _JOB_ID = re.compile(RUN_ID), re.compile(APPROVAL_ID), re.compile(JOB_ID)


def run_key(run_id: str) -> dict[str, str]:
    return {"pk": f"RUN#{run_id}", "sk": "RUN"}


def approval_key(approval_id: str) -> dict[str, str]:
    return {"pk": f"APPROVAL#{approval_id}", "sk": "APPROVAL"}


def job_key(job_id: str) -> dict[str, str]:
    return {"pk": f"JOB#{job_id}", "sk": "JOB"}


def is_conditional_failure(err: ClientError) -> bool:
    """Whether a write lost its condition (someone else got there first)."""
    return bool(err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException")


@dataclass(frozen=True)
class Claim:
    """A decision in progress: the decider's name, when (epoch seconds), the attempt's id."""

    by: str
    at: int
    owner: str


@dataclass(frozen=True)
class Store:
    """The table behind runs and approvals; ``table`` is a boto3 DynamoDB Table resource."""

    table: Any

    # Runs ---------------------------------------------------------------------------------
    def ensure_run(self, run: dict[str, Any]) -> dict[str, Any]:
        """Create the run record unless it exists (a ``queued`` record the API saved when it
        accepted the run is completed); return the stored record either way."""
        indexed = {"gsi_requester": run["requester"], "gsi_channel": run.get("channel")}
        try:
            self.table.put_item(
                Item={**run_key(run["run_id"]), **_clean({**run, **indexed})},
                ConditionExpression="attribute_not_exists(pk) OR #s = :queued",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":queued": "queued"},
            )
            return run
        except ClientError as err:
            if not is_conditional_failure(err):
                raise
        existing = self.get_run(run["run_id"])
        assert existing is not None
        return existing

    def get_run(self, run_id: str) -> dict[str, Any] | None:
        """The run record, without table keys."""
        if not _RUN_ID.match(run_id):
            return None
        item = self.table.get_item(Key=run_key(run_id), ConsistentRead=True).get("Item")
        return _public(item) if item else None

    def update_run(self, run_id: str, **fields: Any) -> dict[str, Any]:
        """Set fields on a run record; returns the record after the update."""
        return _public(self._set(run_key(run_id), fields))

    def _set(
        self,
        key: dict[str, str],
        fields: dict[str, Any],
        *,
        remove: str = "",
        condition: str | None = None,
        names: dict[str, str] | None = None,
        values: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """SET ``fields`` (and REMOVE ``remove``) on one item, if ``condition`` holds (with its
        own ``names`` and ``values``); returns the item after."""
        names = {**(names or {}), **{f"#f{i}": name for i, name in enumerate(fields)}}
        values = {**(values or {}), **{f":v{i}": v for i, v in enumerate(fields.values())}}
        expression = "SET " + ", ".join(f"#f{i} = :v{i}" for i in range(len(fields)))
        kwargs: dict[str, Any] = {"ConditionExpression": condition} if condition else {}
        response = self.table.update_item(
            Key=key,
            UpdateExpression=expression + (f" REMOVE {remove}" if remove else ""),
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_clean(values),
            ReturnValues="ALL_NEW",
            **kwargs,
        )
        return dict(response["Attributes"])

    def set_tool_progress(self, run_id: str, call_id: str, entry: dict[str, Any]) -> dict[str, Any]:
        """Set one tool call's progress entry; returns the run record after the update."""
        response = self.table.update_item(
            Key=run_key(run_id),
            UpdateExpression="SET tools.#id = :entry",
            ExpressionAttributeNames={"#id": call_id},
            ExpressionAttributeValues={":entry": _dynamo(entry)},
            ReturnValues="ALL_NEW",
        )
        return _public(response["Attributes"])

    # Approvals ----------------------------------------------------------------------------
    def create_approval(self, record: ApprovalRecord, *, callback_id: str) -> ApprovalRecord:
        """Save a new gate; a retried submitter gets the record saved the first time."""
        item = {**approval_key(record.approval_id), **_clean(record.model_dump(mode="json"))}
        item["callback_id"] = callback_id
        item["pending"] = "PENDING"
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return record
        except ClientError as err:
            if not is_conditional_failure(err):
                raise
        existing = self.get_approval(record.approval_id)
        assert existing is not None
        return existing

    def get_approval(self, approval_id: str) -> ApprovalRecord | None:
        """The gate's public record (no callback id)."""
        found = self.approval_and_claim(approval_id)
        return found[0] if found else None

    def approval_and_claim(self, approval_id: str) -> tuple[ApprovalRecord, Claim | None] | None:
        """The gate's record and its claim: the one deciding it now, or the one that decided it
        (read together, so the two always agree)."""
        item = self._get(approval_key(approval_id), _APPROVAL_ID.match(approval_id))
        if item is None:
            return None
        claim = None
        if "claimed_by" in item:
            claim = Claim(
                by=str(item["claimed_by"]),
                at=int(item.get("claimed_at", 0)),
                owner=str(item.get("claim_owner", "")),
            )
        return ApprovalRecord.model_validate(_public(item)), claim

    def get_callback_id(self, approval_id: str) -> str | None:
        """The callback id of a gate: only the code that resumes runs asks for it."""
        item = self._get(approval_key(approval_id), _APPROVAL_ID.match(approval_id))
        return str(item["callback_id"]) if item and "callback_id" in item else None

    def _get(self, key: dict[str, str], well_formed: object) -> dict[str, Any] | None:
        """One item by key (a key built from a malformed id names nothing)."""
        if not well_formed:
            return None
        item: dict[str, Any] | None = self.table.get_item(Key=key, ConsistentRead=True).get("Item")
        return item

    def set_approval_message(self, approval_id: str, *, channel: str, ts: str) -> ApprovalRecord:
        """Remember where the card was posted; the record after."""
        return self.set_approval_fields(approval_id, channel=channel, message_ts=ts)

    def settle_approval(
        self,
        approval_id: str,
        *,
        state: ApprovalState,
        decision: dict[str, Any] | None = None,
        note: str | None = None,
    ) -> ApprovalRecord:
        """Close an open gate (pending or claimed) with its final state.

        The record only moves forward: a gate already in ``state`` is written again (a repeated
        settle), and one closed any other way is left as it is. The record comes back as it
        stands, so a caller whose settle lost (a late decision on a cancelled run, say) sees
        what won and shows that.
        """
        assignments = ["#s = :s"]
        # A revised draft's decided card gives way to the next round's: decided -> superseded.
        before = (
            ("pending", "claimed", "decided") if state == "superseded" else ("pending", "claimed")
        )
        values: dict[str, Any] = {":s": state, **{f":b{i}": b for i, b in enumerate(before)}}
        if decision is not None:
            assignments.append("decision = :d")
            values[":d"] = decision
        if note is not None:
            assignments.append("note = :n")
            values[":n"] = note
        try:
            response = self.table.update_item(
                Key=approval_key(approval_id),
                UpdateExpression="SET "
                + ", ".join(assignments)
                + " REMOVE pending",  # the claim stays: it names the attempt that decided
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues=_clean(values),
                ConditionExpression="attribute_exists(pk) AND #s IN ("
                + ", ".join(f":b{i}" for i in range(len(before)))
                + ", :s)",
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            current = self.get_approval(approval_id) if is_conditional_failure(err) else None
            if current is None:
                raise
            return current
        return ApprovalRecord.model_validate(_public(response["Attributes"]))

    def note_card_error(self, approval_id: str, error: str) -> None:
        """Remember that Slack refused to update the card (the gate went on regardless)."""
        self.table.update_item(
            Key=approval_key(approval_id),
            UpdateExpression="SET card_error = :e",
            ExpressionAttributeValues={":e": error[:500]},
            ConditionExpression="attribute_exists(pk)",
        )

    def grant_standing(self, run_id: str, tool: str, grant: dict[str, Any]) -> bool:
        """Record a standing approval of ``tool`` for the run, once (False: one stands)."""
        try:
            self.table.update_item(
                Key=run_key(run_id),
                UpdateExpression="SET standing.#t = :g",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(standing.#t)"
                " OR attribute_exists(standing.#t.revoked_at))",
                ExpressionAttributeNames={"#t": tool},
                ExpressionAttributeValues={":g": _dynamo(grant)},
            )
        except ClientError as err:
            if is_conditional_failure(err):
                return False
            raise
        return True

    def revoke_standing(self, run_id: str, tool: str, *, by: str, at: str) -> dict[str, Any] | None:
        """End a standing approval from the next call on; the grant as it was (None: none
        stood)."""
        try:
            response = self.table.update_item(
                Key=run_key(run_id),
                UpdateExpression="SET standing.#t.revoked_at = :at, standing.#t.revoked_by = :by",
                ConditionExpression="attribute_exists(standing.#t) AND "
                "attribute_not_exists(standing.#t.revoked_at)",
                ExpressionAttributeNames={"#t": tool},
                ExpressionAttributeValues={":at": at, ":by": by},
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            if is_conditional_failure(err):
                return None
            raise
        return dict(_public(response["Attributes"])["standing"][tool])

    def batch_records(self, run_id: str, batch_id: str) -> list[ApprovalRecord]:
        """The gates of one batch card, in the order Claude asked for the calls."""
        run = self.get_run(run_id) or {}
        found = [self.get_approval(a) for a in run.get("approval_ids", [])]
        batch = [r for r in found if r is not None and r.batch_id == batch_id]
        return sorted(batch, key=lambda r: r.batch_position)

    def add_vote(
        self,
        approval_id: str,
        *,
        voter: str,
        vote: dict[str, Any],
        seen_version: int,
        edited: dict[str, Any] | None = None,
    ) -> tuple[ApprovalRecord, bool]:
        """Record ``voter``'s approval of the content at ``seen_version``, once: the record
        after the vote, and whether this vote counted (False: they had approved this content
        already, or the gate closed, or the content changed since they saw it).

        An ``edited`` vote replaces the content: the version moves on, so every earlier
        approval stops counting. Each write is one conditional update on the gate's item, so
        concurrent votes are serialised by DynamoDB and none is lost or counted twice.
        """
        values: dict[str, Any] = {":pending": "pending", ":seen": seen_version}
        names = {"#s": "state", "#v": voter}
        if edited is None:
            update = "SET votes.#v = :vote"
            values[":vote"] = {**vote, "version": seen_version}
            fresh = "(attribute_not_exists(votes.#v) OR votes.#v.version < :seen)"
        else:
            update = "SET votes.#v = :vote, version = :next, edited = :edited"
            values[":vote"] = {**vote, "version": seen_version + 1}
            values[":next"] = seen_version + 1
            values[":edited"] = edited
            fresh = "attribute_exists(pk)"
        try:
            response = self.table.update_item(
                Key=approval_key(approval_id),
                UpdateExpression=update,
                ConditionExpression=f"#s = :pending AND version = :seen AND {fresh}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_clean(values),
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            current = self.get_approval(approval_id) if is_conditional_failure(err) else None
            if current is None:
                raise
            return current, False
        return ApprovalRecord.model_validate(_public(response["Attributes"])), True

    def set_approval_fields(self, approval_id: str, **fields: Any) -> ApprovalRecord:
        """Set routing fields of a gate (escalation, reminders sent, where its card is); the
        record after. A field given as None is left unset (absence beats NULL)."""
        given = {name: value for name, value in fields.items() if value is not None}
        item = self._set(approval_key(approval_id), given, condition="attribute_exists(pk)")
        return ApprovalRecord.model_validate(_public(item))

    def claim_approval(
        self, approval_id: str, *, owner: str, decider_name: str, now: int, lease_seconds: int
    ) -> bool:
        """Take the right to decide: a pending gate, a claim older than the lease, or the
        claim ``owner`` itself left (the same attempt, delivered again)."""
        return self._claim(
            approval_key(approval_id), "pending", owner, decider_name, now, lease_seconds
        )

    def release_claim(self, approval_id: str, *, owner: str) -> None:
        """Give a claim back (the resume failed and may be retried at once)."""
        self._release(approval_key(approval_id), "pending", owner)

    def _claim(
        self, key: dict[str, str], open_state: str, owner: str, name: str, now: int, lease: int
    ) -> bool:
        """Move a record from ``open_state`` (or a claim past its lease, or one ``owner``
        holds already) to ``claimed`` by ``owner``."""
        try:
            self.table.update_item(
                Key=key,
                UpdateExpression="SET #s = :claimed, claim_owner = :o, claimed_at = :now, "
                "claimed_by = :name",
                ConditionExpression="attribute_exists(pk) AND (#s = :open OR "
                "(#s = :claimed AND (claimed_at < :stale OR claim_owner = :o)))",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={
                    ":claimed": "claimed",
                    ":open": open_state,
                    ":o": owner,
                    ":now": now,
                    ":name": name,
                    ":stale": now - lease,
                },
            )
            return True
        except ClientError as err:
            if is_conditional_failure(err):
                return False
            raise

    def _release(self, key: dict[str, str], open_state: str, owner: str) -> None:
        try:
            self.table.update_item(
                Key=key,
                UpdateExpression="SET #s = :open REMOVE claim_owner, claimed_at, claimed_by",
                ConditionExpression="claim_owner = :o AND #s = :claimed",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":open": open_state, ":o": owner, ":claimed": "claimed"},
            )
        except ClientError as err:
            if not is_conditional_failure(err):
                raise

    # Jobs (long-running tool calls completed by webhook) ----------------------------------
    def open_job(self, record: dict[str, Any], *, callback_id: str, secret: str) -> str:
        """Save a job waiting for its completion; returns the secret of its completion URL
        (a retried submitter gets the one saved first, so a URL already handed out works)."""
        item = {**job_key(record["job_id"]), **_clean(record), "state": "waiting"}
        item |= {"callback_id": callback_id, "secret": secret}
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(pk)")
            return secret
        except ClientError as err:
            if not is_conditional_failure(err):
                raise
        existing = self.job_for_completion(record["job_id"])
        assert existing is not None
        return str(existing["secret"])

    def job_for_completion(self, job_id: str) -> dict[str, Any] | None:
        """A job with its secret and callback id: only the code that completes jobs asks."""
        item = self._get(job_key(job_id), _JOB_ID.match(job_id))
        return {key: _plain(value) for key, value in item.items()} if item else None

    def waiting_jobs(self) -> list[dict[str, Any]]:
        """Every job still waiting for its completion (a scan: for the local stack's restart,
        which re-arms their timeouts; a deployment never lists jobs)."""
        kwargs: dict[str, Any] = {
            "FilterExpression": "begins_with(pk, :job) AND #s = :waiting",
            "ExpressionAttributeNames": {"#s": "state"},
            "ExpressionAttributeValues": {":job": "JOB#", ":waiting": "waiting"},
        }
        jobs: list[dict[str, Any]] = []
        while True:
            response = self.table.scan(**kwargs)
            jobs += [{k: _plain(v) for k, v in item.items()} for item in response["Items"]]
            if "LastEvaluatedKey" not in response:
                return jobs
            kwargs["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def claim_job(self, job_id: str, *, owner: str, now: int, lease_seconds: int) -> bool:
        """Take the right to complete a waiting job (or one whose completer died)."""
        return self._claim(job_key(job_id), "waiting", owner, "completion", now, lease_seconds)

    def release_job(self, job_id: str, *, owner: str) -> None:
        """Give a job's claim back (resuming the run failed and may be retried)."""
        self._release(job_key(job_id), "waiting", owner)

    def settle_job(self, job_id: str, *, state: str, **fields: Any) -> None:
        """Record how the job ended (``completed``, ``failed`` or ``expired``)."""
        self._set(
            job_key(job_id),
            {"state": state, **fields},
            remove="claim_owner, claimed_at, claimed_by",
            condition="attribute_exists(pk)",
        )

    def expire_job(self, job_id: str, *, at: str) -> None:
        """The run stopped waiting for a job that has not completed (a no-op otherwise)."""
        try:
            self._set(
                job_key(job_id),
                {"state": "expired", "ended_at": at},
                condition="#s0 = :waiting",
                names={"#s0": "state"},
                values={":waiting": "waiting"},
            )
        except ClientError as err:
            if not is_conditional_failure(err):
                raise

    def link_approval(self, run_id: str, approval_id: str) -> None:
        """Remember a run's gates (cancelling a run closes its open cards)."""
        self.table.update_item(
            Key=run_key(run_id),
            UpdateExpression="ADD approval_ids :a",
            ExpressionAttributeValues={":a": {approval_id}},
        )

    def runs_of(self, requester: str, limit: int = 10) -> list[dict[str, Any]]:
        """A requester's latest runs, newest first."""
        response = self.table.query(
            IndexName=REQUESTER_INDEX,
            KeyConditionExpression="gsi_requester = :r",
            ExpressionAttributeValues={":r": requester},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_public(item) for item in response.get("Items", [])]

    def runs_since(
        self, *, requester: str | None = None, channel: str | None = None, since: str
    ) -> tuple[list[dict[str, Any]], bool]:
        """The usage fields of one requester's or one channel's runs created since ``since``
        (ISO 8601), and whether there were more than a report reads."""
        index, key, value = (
            (REQUESTER_INDEX, "gsi_requester", requester)
            if requester is not None
            else (CHANNEL_INDEX, "gsi_channel", channel)
        )
        kwargs: dict[str, Any] = {
            "IndexName": index,
            "KeyConditionExpression": "#k = :k AND created_at >= :since",
            "ProjectionExpression": ", ".join(f"#p{i}" for i in range(len(USAGE_FIELDS))),
            "ExpressionAttributeNames": {
                "#k": key,
                **{f"#p{i}": name for i, name in enumerate(USAGE_FIELDS)},
            },
            "ExpressionAttributeValues": {":k": value, ":since": since},
        }
        runs: list[dict[str, Any]] = []
        while True:
            response = self.table.query(**kwargs)
            runs += [_public(item) for item in response.get("Items", [])]
            after = response.get("LastEvaluatedKey")
            if after is None:
                return runs, False
            if len(runs) >= USAGE_SCAN_LIMIT:
                return runs, True
            kwargs["ExclusiveStartKey"] = after

    def list_runs(
        self,
        *,
        requester: str | None,
        status: str | None,
        limit: int,
        cursor: dict[str, Any] | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of runs (newest first for one requester), and where the next page starts."""
        kwargs: dict[str, Any] = {"Limit": limit}
        if cursor:
            kwargs["ExclusiveStartKey"] = cursor
        if status:
            kwargs["FilterExpression"] = "#s = :status"
            kwargs["ExpressionAttributeNames"] = {"#s": "status"}
            kwargs["ExpressionAttributeValues"] = {":status": status}
        if requester:
            kwargs["ExpressionAttributeValues"] = {
                **kwargs.get("ExpressionAttributeValues", {}),
                ":r": requester,
            }
            response = self.table.query(
                IndexName=REQUESTER_INDEX,
                KeyConditionExpression="gsi_requester = :r",
                ScanIndexForward=False,
                **kwargs,
            )
        else:
            runs_only = "sk = :run"
            kwargs["FilterExpression"] = " AND ".join(
                filter(None, [runs_only, kwargs.get("FilterExpression")])
            )
            kwargs["ExpressionAttributeValues"] = {
                **kwargs.get("ExpressionAttributeValues", {}),
                ":run": "RUN",
            }
            response = self.table.scan(**kwargs)
        runs = [_public(item) for item in response.get("Items", [])]
        return runs, response.get("LastEvaluatedKey")

    def pending_approvals(self, limit: int = 100) -> list[ApprovalRecord]:
        """Gates waiting for a decision, oldest first."""
        response = self.table.query(
            IndexName=PENDING_INDEX,
            KeyConditionExpression="pending = :p",
            ExpressionAttributeValues={":p": "PENDING"},
            Limit=limit,
        )
        return [ApprovalRecord.model_validate(_public(item)) for item in response.get("Items", [])]


def create_table(dynamodb_client: Any, table_name: str) -> None:
    """Create the table as the CDK stack does (for tests and the local stack)."""
    dynamodb_client.create_table(
        TableName=table_name,
        KeySchema=[
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        AttributeDefinitions=[
            {"AttributeName": name, "AttributeType": "S"}
            for name in (
                "pk",
                "sk",
                "gsi_requester",
                "gsi_channel",
                "pending",
                "created_at",
                "audit_day",
                "audit_at",
            )
        ],
        GlobalSecondaryIndexes=[
            _index(REQUESTER_INDEX, "gsi_requester", "created_at"),
            _index(CHANNEL_INDEX, "gsi_channel", "created_at"),
            _index(PENDING_INDEX, "pending", "created_at"),
            _index(AUDIT_INDEX, "audit_day", "audit_at"),  # agent.storage.audit's export
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb_client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 100}
    )


def _index(name: str, partition: str, sort: str) -> dict[str, Any]:
    return {
        "IndexName": name,
        "KeySchema": [
            {"AttributeName": partition, "KeyType": "HASH"},
            {"AttributeName": sort, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    }


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(value) for key, value in item.items() if key not in BACKEND_ONLY}


def _plain(value: Any) -> Any:
    """DynamoDB hands numbers back as Decimal; the rest of the code speaks JSON."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {key: _plain(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    if isinstance(value, set):
        return sorted(_plain(inner) for inner in value)
    return value


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    """Drop None values (absence beats NULL) and make floats Decimal, as boto3 requires."""
    return {key: _dynamo(value) for key, value in values.items() if value is not None}


def _dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {key: _dynamo(inner) for key, inner in value.items()}
    if isinstance(value, list | tuple):
        return [_dynamo(inner) for inner in value]
    return value
