"""One API Gateway HTTP API: Slack's events in public (Bolt checks Slack's signature), the
run and approval routes behind IAM (SigV4) authorisation, and long-running jobs' completion
URLs in public (each carries its own single-use secret).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import jsii
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.settings import LOG_RETENTION_DAYS

SLACK_EVENTS_PATH = "/slack/events"
# (method, path): served by the HTTP API function (api.handler), IAM-authorised.
API_ROUTES: tuple[tuple[apigwv2.HttpMethod, str], ...] = (
    (apigwv2.HttpMethod.POST, "/runs"),
    (apigwv2.HttpMethod.GET, "/runs"),
    (apigwv2.HttpMethod.GET, "/runs/{run_id}"),
    (apigwv2.HttpMethod.POST, "/runs/{run_id}/cancel"),
    (apigwv2.HttpMethod.POST, "/approvals/{approval_id}/decision"),
    (apigwv2.HttpMethod.GET, "/usage"),
    (apigwv2.HttpMethod.GET, "/runs/{run_id}/audit"),
    (apigwv2.HttpMethod.GET, "/audit"),
    (apigwv2.HttpMethod.GET, "/openapi.json"),
)
# Served by the HTTP API function too, without IAM: the outside system holding a completion URL
# has no AWS identity; the URL's secret is checked by agent.control.completions.
CALLBACK_ROUTES: tuple[tuple[apigwv2.HttpMethod, str], ...] = (
    (apigwv2.HttpMethod.POST, "/callbacks/{token}"),
    (apigwv2.HttpMethod.POST, "/callbacks/{token}/heartbeat"),
)
# Steady rate and burst for the whole stage: Slack sends a few requests per click, API callers
# are services; this only stops a flood from running up Lambda concurrency.
THROTTLE = apigwv2.ThrottleSettings(rate_limit=50, burst_limit=100)
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "caller": "$context.identity.userArn",
    "requestTime": "$context.requestTime",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latencyMs": "$context.responseLatency",
    "integrationError": "$context.integrationErrorMessage",
    "authorizerError": "$context.authorizer.error",
}


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogs:
    """JSON access logs, one line per request, into ``log_group``."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))


@dataclass(frozen=True)
class HttpApiParts:
    api: apigwv2.HttpApi
    stage: apigwv2.HttpStage

    @property
    def url(self) -> str:
        """The stage's base URL, ending in ``/``."""
        return str(self.stage.url)


def http_api(
    scope: Construct,
    *,
    name: str,
    slack: lambda_.IFunction,
    api: lambda_.IFunction,
    log_retention_days: int,
) -> HttpApiParts:
    """The API with its ``$default`` stage (access logs, throttling) and every route."""
    http = apigwv2.HttpApi(
        scope,
        "HttpApi",
        api_name=name,
        description="signoff: Slack events and the run API",
        create_default_stage=False,  # added below, with access logs and throttling
    )
    retention = logs.RetentionDays[LOG_RETENTION_DAYS[log_retention_days]]
    access_logs = logs.LogGroup(scope, "HttpApiAccessLogs", retention=retention)
    stage = http.add_stage(
        "DefaultStage",
        stage_name="$default",
        auto_deploy=True,
        throttle=THROTTLE,
        access_log_settings=_AccessLogs(access_logs),
    )
    http.add_routes(
        path=SLACK_EVENTS_PATH,
        methods=[apigwv2.HttpMethod.POST],
        integration=integrations.HttpLambdaIntegration("SlackEvents", slack),
        authorizer=apigwv2.HttpNoneAuthorizer(),
    )
    api_integration = integrations.HttpLambdaIntegration("RunApi", api)
    iam_auth = authorizers.HttpIamAuthorizer()
    for method, path in API_ROUTES:
        http.add_routes(
            path=path, methods=[method], integration=api_integration, authorizer=iam_auth
        )
    for method, path in CALLBACK_ROUTES:
        http.add_routes(
            path=path,
            methods=[method],
            integration=api_integration,
            authorizer=apigwv2.HttpNoneAuthorizer(),
        )
    return HttpApiParts(api=http, stage=stage)
