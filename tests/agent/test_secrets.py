"""Secrets come from Secrets Manager in AWS; a value already set wins."""

import boto3
import pytest

from agent.secrets import with_secrets
from tests.fakes.aws import MotoS3


def test_secret_arns_are_resolved_and_set_values_win(
    moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch
) -> None:
    # moto's server answers Secrets Manager too.
    monkeypatch.setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", moto_s3.endpoint_url)
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name="signoff/slack-bot-token", SecretString="xoxb-from-aws")["ARN"]
    env = {
        "SLACK_BOT_TOKEN_SECRET_ARN": arn,
        "ANTHROPIC_API_KEY": "sk-set",
        "ANTHROPIC_API_KEY_SECRET_ARN": arn,
    }
    resolved = with_secrets(env)
    assert resolved["SLACK_BOT_TOKEN"] == "xoxb-from-aws"
    assert resolved["ANTHROPIC_API_KEY"] == "sk-set"


def test_without_arns_nothing_is_fetched() -> None:
    assert with_secrets({"SLACK_BOT_TOKEN": "xoxb-local"}) == {"SLACK_BOT_TOKEN": "xoxb-local"}
