"""Alarms: failed runs, failed callback sends, Slack errors, throttles; one encrypted topic."""

from __future__ import annotations

from typing import Any

from agent.telemetry import (
    AGENT_SERVICE,
    CALLBACK_SEND_FAILURES,
    CONTROL_SERVICE,
    COST_USD,
    NAMESPACE,
)
from tests.infra.conftest import Synthesized


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        key: value["Properties"] for key, value in synth.resources("AWS::CloudWatch::Alarm").items()
    }


def _alarm(synth: Synthesized, prefix: str) -> dict[str, Any]:
    (alarm,) = [props for key, props in _alarms(synth).items() if key.startswith(prefix)]
    return alarm


def _dimension(alarm_or_stat: dict[str, Any]) -> Any:
    (dimension,) = alarm_or_stat["Dimensions"]
    return dimension["Value"]


def test_failed_runs_count_failed_and_timed_out_executions(default: Synthesized) -> None:
    alarm = _alarm(default, "FailedRunsAlarm")
    stats = {m["Id"]: m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m}
    assert {m["MetricName"] for m in stats.values()} == {
        "DurableExecutionFailed",
        "DurableExecutionTimedOut",
    }
    agent = {"Ref": default.lid(default.stack.agent.function)}
    for metric in stats.values():
        assert metric["Namespace"] == "AWS/Lambda"
        assert _dimension(metric) == agent


def test_callback_send_failures_alarm_on_the_control_planes_metric(default: Synthesized) -> None:
    alarm = _alarm(default, "CallbackSendFailuresAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, CALLBACK_SEND_FAILURES)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": CONTROL_SERVICE}]
    default.template.resource_count_is("AWS::Logs::MetricFilter", 0)


def test_model_spend_alarms_past_the_hourly_threshold(
    default: Synthesized, bedrock: Synthesized
) -> None:
    alarm = _alarm(default, "ModelSpendAlarm")
    assert (alarm["Namespace"], alarm["MetricName"]) == (NAMESPACE, COST_USD)
    assert alarm["Dimensions"] == [{"Name": "service", "Value": AGENT_SERVICE}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 3600, 25)
    assert _alarm(bedrock, "ModelSpendAlarm")["Threshold"] == 40


def test_slack_errors_and_every_functions_throttles_alarm(default: Synthesized) -> None:
    stack = default.stack
    slack_errors = _alarm(default, "SlackErrorsAlarm")
    assert slack_errors["MetricName"] == "Errors"
    assert _dimension(slack_errors) == {"Ref": default.lid(stack.slack.function)}
    throttled = {
        _dimension(a)["Ref"]
        for a in _alarms(default).values()
        if a.get("MetricName") == "Throttles"
    }
    assert throttled == {default.lid(p.function) for p in (stack.agent, stack.slack, stack.api)}


def test_every_alarm_notifies_the_topic_when_it_fires_and_clears(default: Synthesized) -> None:
    topic = {"Ref": default.lid(default.stack.alarm_topic)}
    alarms = _alarms(default)
    assert len(alarms) == 8
    for alarm in alarms.values():
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]
        assert alarm["TreatMissingData"] == "notBreaching"


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(default: Synthesized) -> None:
    (topic,) = default.resources("AWS::SNS::Topic").values()
    (key_id, key) = next(iter(default.resources("AWS::KMS::Key").items()))
    assert topic["Properties"]["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["Properties"]["KeyPolicy"]["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals


def test_an_email_subscription_only_when_asked(default: Synthesized, bedrock: Synthesized) -> None:
    default.template.resource_count_is("AWS::SNS::Subscription", 0)
    bedrock.template.has_resource_properties(
        "AWS::SNS::Subscription", {"Protocol": "email", "Endpoint": "oncall@example.com"}
    )
