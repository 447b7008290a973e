"""One HTTP API: Slack's route and job completion URLs public, every run route behind IAM."""

from __future__ import annotations

from typing import Any

from tests.infra.conftest import Synthesized

API_ROUTES = {
    "POST /runs",
    "GET /runs",
    "GET /runs/{run_id}",
    "POST /runs/{run_id}/cancel",
    "POST /approvals/{approval_id}/decision",
    "GET /usage",
    "GET /runs/{run_id}/audit",
    "GET /audit",
    "GET /openapi.json",
}
CALLBACK_ROUTES = {"POST /callbacks/{token}", "POST /callbacks/{token}/heartbeat"}


def _routes(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        r["Properties"]["RouteKey"]: r["Properties"]
        for r in synth.resources("AWS::ApiGatewayV2::Route").values()
    }


def _function_behind(synth: Synthesized, route: dict[str, Any]) -> str:
    """The logical id of the function a route's integration invokes."""
    integration_id = route["Target"]["Fn::Join"][1][1]["Ref"]
    integration = synth.json["Resources"][integration_id]["Properties"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    return str(integration["IntegrationUri"]["Fn::GetAtt"][0])


def test_exactly_the_slack_route_and_the_api_routes_exist(default: Synthesized) -> None:
    assert set(_routes(default)) == API_ROUTES | CALLBACK_ROUTES | {"POST /slack/events"}


def test_slack_events_are_public_and_reach_the_slack_function(default: Synthesized) -> None:
    route = _routes(default)["POST /slack/events"]
    assert route["AuthorizationType"] == "NONE"
    assert _function_behind(default, route) == default.lid(default.stack.slack.function)


def test_completion_urls_are_public_and_reach_the_api_function(default: Synthesized) -> None:
    routes = _routes(default)
    for key in CALLBACK_ROUTES:
        assert routes[key]["AuthorizationType"] == "NONE", key
        assert _function_behind(default, routes[key]) == default.lid(default.stack.api.function)


def test_the_agent_knows_the_apis_url_for_completion_urls(default: Synthesized) -> None:
    agent = default.json["Resources"][default.lid(default.stack.agent.function)]
    url = agent["Properties"]["Environment"]["Variables"]["SIGNOFF_PUBLIC_URL"]
    assert url == {"Fn::GetAtt": [default.lid(default.stack.http.api), "ApiEndpoint"]}


def test_every_api_route_needs_iam_and_reaches_the_api_function(default: Synthesized) -> None:
    routes = _routes(default)
    for key in API_ROUTES:
        assert routes[key]["AuthorizationType"] == "AWS_IAM", key
        assert _function_behind(default, routes[key]) == default.lid(default.stack.api.function)


def test_the_agent_is_not_reachable_through_the_api(default: Synthesized) -> None:
    agent = default.lid(default.stack.agent.function)
    for route in _routes(default).values():
        assert _function_behind(default, route) != agent


def test_default_stage_logs_every_request_and_is_throttled(default: Synthesized) -> None:
    (stage,) = default.resources("AWS::ApiGatewayV2::Stage").values()
    props = stage["Properties"]
    assert props["StageName"] == "$default"
    assert props["AutoDeploy"] is True
    assert "$context.requestId" in props["AccessLogSettings"]["Format"]
    assert props["AccessLogSettings"]["DestinationArn"]
    assert props["DefaultRouteSettings"]["ThrottlingRateLimit"] > 0
    assert props["DefaultRouteSettings"]["ThrottlingBurstLimit"] > 0


def test_api_gateway_may_invoke_only_through_its_routes(default: Synthesized) -> None:
    permissions = default.resources("AWS::Lambda::Permission").values()
    assert len(permissions) == len(API_ROUTES) + len(CALLBACK_ROUTES) + 1
    for permission in permissions:
        props = permission["Properties"]
        assert props["Principal"] == "apigateway.amazonaws.com"
        assert props["Action"] == "lambda:InvokeFunction"
        assert "SourceArn" in props


def test_outputs_give_the_slack_request_url_and_the_api_url(default: Synthesized) -> None:
    outputs = default.json["Outputs"]
    slack_url = outputs["SlackEventsUrl"]["Value"]["Fn::Join"][1]
    assert slack_url[-1] == "/slack/events"
    assert outputs["ApiUrl"]["Value"]["Fn::Join"][1][-1] == "/"
    for name in ("AgentAliasArn", "ApiExecuteArn", "AlarmTopicArn", "TableName"):
        assert name in outputs
    assert outputs["SlackBotTokenSecretName"]["Value"] == "signoff/slack-bot-token"
    assert outputs["SlackSigningSecretSecretName"]["Value"] == "signoff/slack-signing-secret"
    assert outputs["AnthropicApiKeySecretName"]["Value"] == "signoff/anthropic-api-key"
