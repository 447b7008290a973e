"""The HTTP API (API Gateway HTTP API, payload 2.0): start runs, read them, decide, cancel,
report usage, and take long-running jobs' completions.

Routes are Powertools' APIGatewayHttpResolver with validation on: the pydantic models in
``api.models`` validate every request and generate ``/openapi.json``. Deciding goes
through ``agent.control.runs.ControlPlane``, the same exactly-once path as a Slack click.

Auth: in AWS the routes use IAM authorisation, locally a bearer token (``SIGNOFF_API_TOKEN``,
``SIGNOFF_API_TOKENS``). The authenticated caller decides and cancels in its own name
(``agent.control.principals``), never in a name from the body. A job's completion URL
(``/callbacks/{token}``) is its own credential: it needs neither.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from botocore.exceptions import ClientError
from pydantic import BaseModel, ValidationError

from agent.approvals.decisions import DECISION_ADAPTER, Decision
from agent.clock import now_iso
from agent.config import Settings, running_in_lambda
from agent.control.completions import Accepted, JobCompletions, JobReport
from agent.control.completions import Refused as JobRefused
from agent.control.principals import Principal, audit_refusal, export_refusal, local_principal
from agent.control.runs import (
    CancelRefused,
    Closed,
    ControlPlane,
    Decided,
    Invalid,
    Refused,
    RunConflict,
    RunNotFound,
    Voted,
)
from agent.control.usage import DEFAULT_DAYS, MAX_DAYS, since, summarise
from agent.json_limits import TooDeep, check_depth
from agent.models import MAX_PRINCIPAL_LENGTH, SLACK_ID, RunRequest, describe_validation_error
from agent.secrets import with_secrets
from agent.status import ended_abnormally, status_of, unknown_status
from agent.storage.audit import AuditLog, export_days
from api.audit import (
    DEFAULT_EXPORT_LIMIT,
    MAX_EXPORT_LIMIT,
    NDJSON,
    NEXT_CURSOR_HEADER,
    BadRange,
    ndjson,
    time_range,
)
from api.cursor import (
    NOT_OURS,
    BadCursor,
    decode_cursor,
    decode_export_cursor,
    encode_cursor,
    encode_export_cursor,
)
from api.models import (
    ApprovalView,
    CancelBody,
    Cancelled,
    DecisionAccepted,
    DecisionBody,
    ErrorBody,
    JobAccepted,
    JobCompletion,
    RunAccepted,
    RunPage,
    RunSummary,
    RunView,
    StartRun,
    UsageTotalsView,
    UsageView,
)

MAX_BODY_BYTES = 64 * 1024
MAX_CURSOR_LENGTH = 16 * 1024  # a requester's cursor carries the requester: up to 2 KB, twice
CALLBACKS_PREFIX = "/callbacks/"  # authorised by the token in the path


class ApiError(Exception):
    """An answer with a status and a message naming the problem."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def build_api(settings: Settings, control: ControlPlane) -> APIGatewayHttpResolver:
    """The resolver with every route; ``control`` does the work."""
    app = APIGatewayHttpResolver(enable_validation=True)
    app.use(middlewares=[_authenticate(settings)])
    app.exception_handler(ApiError)(_api_error)
    app.exception_handler(RequestValidationError)(_validation_error)
    app.not_found(lambda _: _error(404, "no such route"))

    @app.post(
        "/runs",
        status_code=202,
        responses={202: _body("accepted", RunAccepted), **_errors(401, 409, 413, 422)},
    )
    def start_run(body: StartRun) -> Response[str]:
        caller = _caller(app)
        run_id = (
            run_id_for(body.idempotency_key)
            if body.idempotency_key
            else f"api-{uuid.uuid4().hex[:24]}"
        )
        existing = control.store.get_run(run_id)
        if existing is not None and existing.get("task") != body.task:
            raise ApiError(
                409, f"idempotency_key {body.idempotency_key!r} was used for another task"
            )
        try:
            request = RunRequest(
                task=body.task,
                requester=body.requester or caller.id,
                started_by=caller.id,
                channel=body.channel,
                source="api",
                run_id=run_id,
                notify=body.notify,
                budget_usd=body.budget_usd,
                budget_tokens=body.budget_tokens,
            )
        except ValidationError as err:  # the caller's identity, when it is the requester
            raise ApiError(422, describe_validation_error(err, "run request")) from None
        # Readable at once, before the run's first step has run: a queued record.
        stored = existing or control.store.ensure_run(queued_run(request))
        try:
            control.start_run(request)
        except RunConflict as err:
            raise ApiError(409, str(err)) from None
        accepted = RunAccepted(run_id=run_id, status=status_of(stored))
        return Response(202, "application/json", accepted.model_dump_json())

    @app.get("/runs/<run_id>", responses=_answers(RunView, 401, 404, 422))
    def get_run(run_id: str) -> RunView:
        return run_view(control, run_id)

    @app.get("/runs", responses=_answers(RunPage, 400, 401, 422))
    def list_runs(
        status: Annotated[str | None, Query(max_length=32)] = None,
        requester: Annotated[str | None, Query(max_length=MAX_PRINCIPAL_LENGTH)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    ) -> RunPage:
        if status is not None and (problem := unknown_status(status)) is not None:
            raise ApiError(400, problem)
        # Waiting for approval is a running run at a gate: filter on the stored word, then look.
        stored = "running" if status == "waiting_for_approval" else status
        try:
            start = decode_cursor(cursor, requester=requester)
            runs, after = control.store.list_runs(
                requester=requester, status=stored, limit=limit, cursor=start
            )
        except BadCursor as err:
            raise ApiError(400, str(err)) from None
        except ClientError as err:  # a well-formed key the table still refuses as a start
            if start is None or err.response.get("Error", {}).get("Code") != "ValidationException":
                raise
            raise ApiError(400, NOT_OURS) from None
        summaries = [
            RunSummary.model_validate({**run, "status": status_of(run)}, from_attributes=False)
            for run in runs
            if status is None or status_of(run) == status
        ]
        return RunPage(runs=summaries, cursor=encode_cursor(after))

    @app.get("/usage", responses=_answers(UsageView, 400, 401, 403, 422))
    def usage(
        requester: Annotated[
            str | None, Query(min_length=1, max_length=MAX_PRINCIPAL_LENGTH)
        ] = None,
        channel: Annotated[str | None, Query(pattern=SLACK_ID)] = None,
        days: Annotated[int, Query(ge=1, le=MAX_DAYS)] = DEFAULT_DAYS,
    ) -> UsageView:
        if requester is None and channel is None:
            raise ApiError(400, "give a requester, a channel or both")
        start = since(datetime.now(UTC), days)

        def totals(**key: str | None) -> UsageTotalsView:
            runs, more = control.store.runs_since(since=start, **key)
            return UsageTotalsView(**summarise(runs, partial=more).to_json())

        return UsageView(
            since=start,
            days=days,
            requester=totals(requester=requester) if requester else None,
            channel=totals(channel=channel) if channel else None,
        )

    @app.post(
        "/approvals/<approval_id>/decision",
        responses=_answers(DecisionAccepted, 401, 403, 404, 409, 413, 422),
    )
    def decide(approval_id: str, body: DecisionBody) -> DecisionAccepted:
        caller = _caller(app)
        decision = _decision(body, caller)
        match control.decide(approval_id, decision, caller=caller):
            case Decided(record=record):
                return DecisionAccepted(approval_id=approval_id, state=record.state)
            case Voted(record=record, tally=votes, again=again):
                return DecisionAccepted(
                    approval_id=approval_id,
                    state=record.state,
                    approvals=len(votes.approved_by),
                    required=votes.required,
                    counted_already=again,
                )
            case Refused(reason=reason):
                raise ApiError(403, reason)
            case Closed(reason=reason):
                raise ApiError(404 if "does not exist" in reason else 409, reason)
            case Invalid(reason=reason):
                raise ApiError(422, reason)

    jobs = JobCompletions(control.store, control.lambda_client, control.lease_seconds)

    @app.post(
        "/callbacks/<token>",
        security=[{}],
        responses=_answers(JobAccepted, 404, 409, 410, 413, 422),
    )
    def complete_job(
        token: str, body: Annotated[JobCompletion | None, Body()] = None
    ) -> JobAccepted:
        # No body at all is a bare "done": success with no result.
        fields = body.model_dump(exclude_unset=True) if body is not None else {}
        report = JobReport.from_body(fields)
        return _job_answer(jobs.complete(token, report))

    @app.post(
        "/callbacks/<token>/heartbeat",
        security=[{}],
        responses=_answers(JobAccepted, 404, 410, 422),
    )
    def job_heartbeat(token: str) -> JobAccepted:
        return _job_answer(jobs.heartbeat(token))

    @app.post("/runs/<run_id>/cancel", responses=_answers(Cancelled, 401, 403, 404, 413, 422))
    def cancel(run_id: str, body: Annotated[CancelBody | None, Body()] = None) -> Cancelled:
        caller = _caller(app)
        acting_for = body.on_behalf_of if body is not None else None
        try:
            message = control.cancel(run_id, acting_for or caller.id, caller=caller)
        except RunNotFound as err:
            raise ApiError(404, str(err)) from None
        except CancelRefused as err:
            raise ApiError(403, str(err)) from None
        return Cancelled(run_id=run_id, message=message)

    @app.get("/runs/<run_id>/audit", responses=_lines(401, 403, 404, 422))
    def run_audit(run_id: str) -> Response[str]:
        caller = _caller(app)
        run = control.store.get_run(run_id)
        if run is None:
            raise ApiError(404, f"no run {run_id!r}")
        refusal = audit_refusal(
            caller,
            requester=run["requester"],
            started_by=run.get("started_by"),
            api_approvers=control.api_approvers,
        )
        if refusal is not None:
            raise ApiError(403, refusal)
        return Response(200, NDJSON, ndjson(AuditLog(control.store.table).entries(run_id)))

    @app.get("/audit", responses=_lines(400, 401, 403, 422))
    def export_audit(
        since: Annotated[str, Query(min_length=10, max_length=40)],
        until: Annotated[str | None, Query(min_length=10, max_length=40)] = None,
        limit: Annotated[int, Query(ge=1, le=MAX_EXPORT_LIMIT)] = DEFAULT_EXPORT_LIMIT,
        cursor: Annotated[str | None, Query(max_length=MAX_CURSOR_LENGTH)] = None,
    ) -> Response[str]:
        if (refusal := export_refusal(_caller(app), control.api_approvers)) is not None:
            raise ApiError(403, refusal)
        try:
            span = time_range(since, until, now=datetime.now(UTC))
            start = decode_export_cursor(cursor, days=export_days(span.since, span.until))
        except (BadRange, BadCursor) as err:
            raise ApiError(400, str(err)) from None
        entries, after = AuditLog(control.store.table).export(
            since=span.since, until=span.until, start=start, limit=limit
        )
        following = encode_export_cursor(after)
        headers = {NEXT_CURSOR_HEADER: following} if following else None
        return Response(200, NDJSON, ndjson(entries), headers=headers)

    @app.get("/openapi.json", include_in_schema=False)
    def openapi() -> Response[str]:
        document = app.get_openapi_json_schema(
            title="signoff API",
            version="1",
            security_schemes=SECURITY_SCHEMES,
            security=[{"iam": []}, {"bearer": []}],
        )
        return Response(200, "application/json", document)

    return app


ERROR_MEANINGS = {
    400: "a query value is not one this API takes (a time range, a cursor)",
    401: "no IAM identity and no (or a wrong) bearer token",
    403: "the caller may not do this (who may decide, cancel or read the audit log)",
    404: "no such run, approval or completion URL",
    409: "already decided, being decided, or an idempotency key reused for another task",
    410: "the run stopped waiting for this job",
    413: "the body is over 64 KiB",
    422: "the request is not valid: the error names each field",
}
# In AWS the routes take IAM (SigV4) auth; signoff dev takes the bearer token it prints.
SECURITY_SCHEMES: dict[str, Any] = {
    "iam": APIKey.model_validate(
        {
            "name": "Authorization",
            "in": APIKeyIn.header,
            "description": "AWS Signature Version 4 (API Gateway IAM authorisation)",
        }
    ),
    "bearer": HTTPBearer(description="signoff dev: SIGNOFF_API_TOKEN or SIGNOFF_API_TOKENS"),
}


def _body(description: str, model: type[BaseModel]) -> OpenAPIResponse:
    return {"description": description, "content": {"application/json": {"model": model}}}


def _answers(ok: type[BaseModel], *errors: int) -> dict[int, OpenAPIResponse]:
    """A route's success body and its error answers."""
    return {200: _body("done", ok), **_errors(*errors)}


def _lines(*errors: int) -> dict[int, OpenAPIResponse]:
    """A route that answers audit entries as JSON Lines, and its error answers."""
    lines: OpenAPIResponse = {
        "description": "audit entries, one JSON object per line (GET /audit: the next page's "
        f"cursor in the {NEXT_CURSOR_HEADER} header, absent on the last page)",
        "content": {NDJSON: {"schema": {"type": "string"}}},
    }
    return {200: lines, **_errors(*errors)}


def _errors(*statuses: int) -> dict[int, OpenAPIResponse]:
    """The error answers a route gives, each with the body every error has."""
    return {status: _body(ERROR_MEANINGS[status], ErrorBody) for status in statuses}


def _job_answer(answer: Accepted | JobRefused) -> JobAccepted:
    if isinstance(answer, JobRefused):
        raise ApiError(answer.status, answer.reason)
    return JobAccepted(job_id=answer.job_id, state=answer.state)


def run_id_for(idempotency_key: str) -> str:
    """The run (and durable execution) name an idempotency key always maps to."""
    return "api-" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24]


def queued_run(request: RunRequest) -> dict[str, Any]:
    """The record of a run the API accepted, before its durable execution opens it."""
    return {
        "run_id": request.run_id,
        "task": request.task,
        "requester": request.requester,
        "source": request.source,
        "channel": request.channel,
        "status": "queued",
        "created_at": now_iso(),
        "started_by": request.started_by,
    }


def run_view(control: ControlPlane, run_id: str) -> RunView:
    """A run as the API shows it: live status, waiting approvals, decisions, result."""
    run = control.store.get_run(run_id)
    if run is None:
        raise ApiError(404, f"no run {run_id!r}")
    execution = _execution(control, run)
    records = [control.store.get_approval(a) for a in run.get("approval_ids", [])]
    gates = sorted((r for r in records if r is not None), key=lambda r: r.created_at)
    pending = [
        ApprovalView.model_validate(r.model_dump())
        for r in gates
        if r.state in ("pending", "claimed")
    ]
    decisions = [r.decision for r in gates if r.decision]
    execution_status = str(execution.get("Status"))
    if (ended := ended_abnormally(run, execution_status)) is not None:
        run = control.store.update_run(run_id, status=ended, finished_at=now_iso())
    status = status_of(run, execution_status=execution_status)
    if status == "running" and pending:
        status = "waiting_for_approval"
    return RunView(
        run_id=run_id,
        status=status,
        task=run["task"],
        requester=run["requester"],
        channel=run.get("channel"),
        created_at=run.get("created_at"),
        finished_at=run.get("finished_at"),
        note=run.get("note"),
        pending_approvals=pending,
        decisions=decisions,
        usage=run.get("usage"),
        usage_by_model=run.get("usage_by_model"),
        cost_usd=run.get("cost_usd"),
        budget=run.get("budget"),
        result=_result_text(execution),
    )


def _execution(control: ControlPlane, run: dict[str, Any]) -> dict[str, Any]:
    if not run.get("execution_arn"):
        return {"Status": "RUNNING"}
    try:
        response: dict[str, Any] = control.lambda_client.get_durable_execution(
            DurableExecutionArn=run["execution_arn"]
        )
        return response
    except ClientError:
        return {"Status": "RUNNING"}


def _result_text(execution: dict[str, Any]) -> str | None:
    try:
        result = json.loads(execution.get("Result") or "null")
    except json.JSONDecodeError:
        return None
    text = (result or {}).get("text") if isinstance(result, dict) else None
    if isinstance(text, dict):
        return str(text.get("text") or text.get("preview") or "") or None
    return None


def _decision(body: DecisionBody, caller: Principal) -> Decision:
    """The decision in the caller's name, or in the name of the Slack user a delegate names."""
    payload = body.model_dump(exclude_none=True, exclude={"on_behalf_of"})
    if body.on_behalf_of:
        name = f"{body.on_behalf_of}, via {caller.name}"
        payload["decider"] = {"id": body.on_behalf_of, "name": name, "via": caller.name}
    else:
        payload["decider"] = {"id": caller.id, "name": caller.name}
    payload["at"] = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        return DECISION_ADAPTER.validate_python(payload)
    except ValidationError as err:
        raise ApiError(422, describe_validation_error(err, "decision")) from None


def _caller(app: APIGatewayHttpResolver) -> Principal:
    """Who the authentication middleware found calling (every route but the open ones)."""
    caller = app.context.get("caller")
    assert isinstance(caller, Principal), "the route is behind _authenticate"
    return caller


def _authenticate(settings: Settings) -> Any:
    def middleware(app: APIGatewayHttpResolver, next_middleware: NextMiddleware) -> Response[Any]:
        path = app.current_event.path
        if path == "/openapi.json" or path.startswith(CALLBACKS_PREFIX):
            return next_middleware(app)
        authorizer = app.current_event.request_context.authorizer
        if authorizer is not None and authorizer.iam is not None and authorizer.iam.user_arn:
            app.context["caller"] = Principal.iam(str(authorizer.iam.user_arn))
            return next_middleware(app)
        tokens = settings.bearer_tokens()
        if not tokens:
            return _error(401, "the API needs IAM auth or SIGNOFF_API_TOKEN")
        sent = app.current_event.headers.get("authorization", "")
        caller = local_principal(sent, tokens)
        if caller is None:
            return _error(401, "missing or wrong bearer token")
        app.context["caller"] = caller
        return next_middleware(app)

    return middleware


def _error(status: int, message: str) -> Response[str]:
    return Response(status, "application/json", ErrorBody(error=message).model_dump_json())


def _api_error(err: ApiError) -> Response[str]:
    return _error(err.status, str(err))


def _validation_error(err: RequestValidationError) -> Response[str]:
    problems = []
    for item in err.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body") or "body"
        problems.append(f"{where}: {item.get('msg')}")
    return _error(422, "invalid request: " + "; ".join(problems))


@cache
def _api() -> APIGatewayHttpResolver:
    import boto3

    from agent.deps import build_policy, build_slack_client
    from agent.storage.store import Store
    from agent.tools import default_registry

    settings = Settings.from_env(with_secrets(os.environ))
    tools = default_registry()
    build_policy(settings, tools)  # a bad policy file stops the cold start, named
    session = boto3.session.Session(region_name=settings.aws_region)
    control = ControlPlane(
        store=Store(session.resource("dynamodb").Table(settings.table_name)),
        lambda_client=session.client("lambda"),
        agent_function=settings.agent_function,
        slack=build_slack_client(settings),
        slash_command=settings.slash_command,
        approvers=settings.approvers,
        lease_seconds=settings.claim_lease_seconds,
        api_approvers=settings.api_approvers,
        api_delegates=settings.api_delegates,
        tools=tools,
    )
    return build_api(settings, control)


def serve(api: APIGatewayHttpResolver, event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Answer one API Gateway event; a body too big or too deeply nested is refused before
    anything parses it."""
    refusal = body_refusal(event)
    if refusal is not None:
        status, message = refusal
        headers = {"content-type": "application/json"}
        return {
            "statusCode": status,
            "headers": headers,
            "body": ErrorBody(error=message).model_dump_json(),
        }
    response: dict[str, Any] = api.resolve(event, context)
    return response


def body_refusal(event: dict[str, Any]) -> tuple[int, str] | None:
    """(status, why) for a body no route may read: over the size limit in bytes (not
    characters), not base64 where it says it is, or JSON nested too deep to parse."""
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(body, validate=True)
        except binascii.Error:
            return 400, "the body is marked base64 but is not"
    else:
        raw = body.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_BODY_BYTES:
        return 413, f"the body is {len(raw)} bytes; at most {MAX_BODY_BYTES} are allowed"
    try:
        check_depth(raw.decode("utf-8", "replace"), "the body")
    except TooDeep as err:
        return 400, str(err)
    return None


def cold_start() -> None:
    """Read and check every setting and build the clients now (Lambda's init phase, below;
    ``signoff dev`` at start): a bad setting stops the start, named, instead of failing
    every request."""
    _api()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    return serve(_api(), event, context)


if running_in_lambda(os.environ):
    cold_start()
