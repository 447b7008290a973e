"""Alarms into one encrypted SNS topic: failed runs, failed callback sends, model spending
over a rate, Slack function errors, throttles, and 5xx answers from the HTTP API.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from agent.telemetry import (
    AGENT_SERVICE,
    CALLBACK_SEND_FAILURES,
    CONTROL_SERVICE,
    COST_USD,
    NAMESPACE,
)
from infra.http_api import HttpApiParts

PERIOD = Duration.minutes(5)


@dataclass(frozen=True)
class Watched:
    """What the alarms look at."""

    agent: lambda_.Function
    slack: lambda_.Function
    api: lambda_.Function
    http: HttpApiParts


def alarm_topic(scope: Construct, *, email: str | None) -> sns.Topic:
    """The topic every alarm notifies, encrypted with a key CloudWatch may use."""
    key = kms.Key(
        scope,
        "AlarmTopicKey",
        description="signoff alarm topic encryption",
        enable_key_rotation=True,
    )
    # CloudWatch publishes as its service principal, so the key must let it encrypt.
    key.add_to_resource_policy(
        iam.PolicyStatement(
            principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
            actions=["kms:Decrypt", "kms:GenerateDataKey*"],
            resources=["*"],  # in a key policy, "*" means this key
        )
    )
    topic = sns.Topic(
        scope, "AlarmTopic", display_name="signoff alarms", master_key=key, enforce_ssl=True
    )
    if email:
        topic.add_subscription(subscriptions.EmailSubscription(email))
    return topic


def add_alarms(
    scope: Construct, watched: Watched, topic: sns.ITopic, *, cost_usd_per_hour: int
) -> list[cloudwatch.Alarm]:
    """Every alarm, each notifying ``topic`` when it fires and when it clears."""
    alarms = [
        _alarm(scope, "FailedRunsAlarm", _failed_runs(watched.agent),
               "A run ended FAILED or TIMED_OUT (see the agent's logs and execution history)"),
        _alarm(scope, "CallbackSendFailuresAlarm", _callback_failures(),
               "Resuming a run with a decision failed: the clicker's decision did not reach it"),
        _alarm(scope, "ModelSpendAlarm", _model_spend(),
               f"Runs spent over ${cost_usd_per_hour} on model calls in one hour",
               threshold=cost_usd_per_hour),
        _alarm(scope, "SlackErrorsAlarm", watched.slack.metric_errors(period=PERIOD),
               "The Slack function raised: a user got no answer or a lazy listener failed"),
        _alarm(scope, "ApiServerErrorsAlarm", watched.http.api.metric_server_error(period=PERIOD),
               "The HTTP API answered 5xx"),
    ]  # fmt: skip
    for name, function in (
        ("Agent", watched.agent),
        ("Slack", watched.slack),
        ("Api", watched.api),
    ):
        alarms.append(
            _alarm(scope, f"{name}ThrottlesAlarm", function.metric_throttles(period=PERIOD),
                   f"The {name.lower()} function was throttled (concurrency limit)")
        )  # fmt: skip
    action = actions.SnsAction(topic)
    for alarm in alarms:
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
    return alarms


def _alarm(
    scope: Construct,
    id: str,
    metric: cloudwatch.IMetric,
    description: str,
    *,
    threshold: float = 1,
) -> cloudwatch.Alarm:
    return cloudwatch.Alarm(
        scope,
        id,
        metric=metric,
        threshold=threshold,
        evaluation_periods=1,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        alarm_description=description,
    )


def _failed_runs(agent: lambda_.Function) -> cloudwatch.IMetric:
    """Durable executions that ended badly (Lambda's execution-level metrics, not Errors)."""
    return cloudwatch.MathExpression(
        expression="FILL(failed, 0) + FILL(timedOut, 0)",  # one may have no data
        using_metrics={
            "failed": agent.metric("DurableExecutionFailed", statistic="Sum", period=PERIOD),
            "timedOut": agent.metric("DurableExecutionTimedOut", statistic="Sum", period=PERIOD),
        },
        label="failed runs",
        period=PERIOD,
    )


def _callback_failures() -> cloudwatch.IMetric:
    """agent.control.runs' EMF metric: resuming a run failed for any reason but "already closed"
    (that one is an answer to the clicker, not a failure). Written by the Slack and the API
    function alike."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=CALLBACK_SEND_FAILURES,
        dimensions_map={"service": CONTROL_SERVICE},
        statistic="Sum",
        period=PERIOD,
    )


def _model_spend() -> cloudwatch.IMetric:
    """Dollars of model calls per hour, from the agent's EMF record without a model dimension."""
    return cloudwatch.Metric(
        namespace=NAMESPACE,
        metric_name=COST_USD,
        dimensions_map={"service": AGENT_SERVICE},
        statistic="Sum",
        period=Duration.hours(1),
    )
