"""The whole system in one stack: the durable agent behind an alias, the Slack app and the
HTTP API behind one API Gateway, the table, the blob bucket, the secrets and the alarms.

Read top to bottom in ``SignoffStack.__init__``; each part is one small method.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, CfnOutput, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from agent.config import (
    ENV_AGENT_FUNCTION,
    ENV_AGENT_MODEL,
    ENV_ANTHROPIC_API_KEY,
    ENV_API_APPROVERS,
    ENV_API_DELEGATES,
    ENV_APPROVAL_TIMEOUT,
    ENV_APPROVERS,
    ENV_BUCKET,
    ENV_BUDGET_USD,
    ENV_EXPORT_BUCKETS,
    ENV_EXPORT_LOG_GROUPS,
    ENV_LLM_PROVIDER,
    ENV_PUBLIC_URL,
    ENV_SLACK_BOT_TOKEN,
    ENV_SLASH_COMMAND,
    ENV_TABLE,
)
from agent.secrets import ARN_SUFFIX, ENV_SLACK_SIGNING_SECRET
from infra import permissions
from infra.alarms import Watched, add_alarms, alarm_topic
from infra.bundles import BUNDLES, POLICY_FILE
from infra.functions import FunctionParts, FunctionSpec, bundle_path, python_function
from infra.http_api import SLACK_EVENTS_PATH, http_api
from infra.mcp_secrets import mcp_secret_names
from infra.settings import StackSettings
from infra.storage import blob_bucket, run_table

AGENT_ALIAS = "live"


def secret_arn_env(env_name: str) -> str:
    """Where agent.secrets looks for a secret's ARN: ``SLACK_BOT_TOKEN_SECRET_ARN``."""
    return env_name + ARN_SUFFIX


class SignoffStack(Stack):
    """signoff: durable agent, Slack app, HTTP API, storage, secrets, alarms."""

    def __init__(
        self, scope: Construct, id: str, *, settings: StackSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, id, **kwargs)
        self.settings = settings
        self.table = run_table(self)
        self.bucket = blob_bucket(self, expiry_days=settings.blob_expiry_days)
        self.mcp_secret_names = mcp_secret_names(
            bundle_path(settings.bundle_dir, BUNDLES["agent"]) / POLICY_FILE,
            taken={*self._agent_settings(), ENV_PUBLIC_URL},
        )
        self.secrets = self._secrets()
        self.agent, self.alias = self._agent_function()
        self.slack = self._slack_function()
        self.api = self._api_function()
        self.http = http_api(
            self,
            name=f"{self.stack_name}-api",
            slack=self.slack.function,
            api=self.api.function,
            log_retention_days=settings.log_retention_days,
        )
        # The API's URL for long-running jobs' completion URLs; the HttpApi resource alone, so
        # no cycle through the routes, which reach the functions.
        self.agent.function.add_environment(ENV_PUBLIC_URL, self.http.api.api_endpoint)
        self._grants()
        self.alarm_topic = alarm_topic(self, email=settings.alarm_email)
        add_alarms(
            self,
            self._watched(),
            self.alarm_topic,
            cost_usd_per_hour=settings.cost_alarm_usd_per_hour,
        )
        self._outputs()

    # Secrets -------------------------------------------------------------------------------
    def _secrets(self) -> dict[str, secretsmanager.Secret]:
        """One secret per credential, created with a random placeholder: fill each after deploy.
        The bundled policy file's MCP servers get one per ``${NAME}`` their headers use."""
        wanted = {
            ENV_SLACK_BOT_TOKEN: "Slack bot token (xoxb-...)",
            ENV_SLACK_SIGNING_SECRET: "Slack signing secret",
        }
        if self.settings.llm_provider == "anthropic":
            wanted[ENV_ANTHROPIC_API_KEY] = "Anthropic API key"
        for name in self.mcp_secret_names:
            wanted[name] = f"${{{name}}} of the policy file's MCP server headers"
        return {
            env: secretsmanager.Secret(
                self,
                _secret_id(env, mcp=env in self.mcp_secret_names),
                secret_name=self.secret_name(env),
                description=f"signoff: {what}; set with aws secretsmanager put-secret-value",
                removal_policy=RemovalPolicy.RETAIN,
            )
            for env, what in wanted.items()
        }

    def secret_name(self, env_name: str) -> str:
        """``signoff/slack-bot-token`` for ``SLACK_BOT_TOKEN`` in stack ``signoff``;
        ``signoff/mcp/tickets-token`` for an MCP server's ``${TICKETS_TOKEN}``."""
        folder = "mcp/" if env_name in self.mcp_secret_names else ""
        return f"{self.stack_name}/{folder}{env_name.lower().replace('_', '-')}"

    def _secret_env(self, *names: str) -> dict[str, str]:
        return {secret_arn_env(name): self.secrets[name].secret_arn for name in names}

    # Functions -----------------------------------------------------------------------------
    def _agent_function(self) -> tuple[FunctionParts, lambda_.Alias]:
        """The durable agent. Every invoker uses the alias; each deploy publishes a version
        and old versions are kept, because a run replays on the version it started on."""
        environment = {
            **self._agent_settings(),
            **self._secret_env(*self._agent_secrets()),
        }
        s = self.settings
        parts = self._function("Agent", FunctionSpec(
            bundle=BUNDLES["agent"],
            description="signoff agent: Claude in durable steps, paused for human approval",
            memory_mb=1024,
            timeout=Duration.minutes(15),  # one invocation (a model turn), not the whole run
            environment=environment,
            durable_config=lambda_.DurableConfig(
                execution_timeout=Duration.days(s.execution_timeout_days),
                retention_period=Duration.days(s.retention_days),
            ),
            current_version_options=lambda_.VersionOptions(removal_policy=RemovalPolicy.RETAIN),
        ))  # fmt: skip
        # CDK's note that turning durability on replaces a function: this one is durable
        # from its first deploy, so it never changes from plain to durable in place.
        Annotations.of(parts.function).acknowledge_info(
            "aws-lambda:Function.DurableConfig", "durable since the first deploy"
        )
        alias = lambda_.Alias(
            self,
            "AgentAlias",
            alias_name=AGENT_ALIAS,
            version=parts.function.current_version,
            description="what every invoker starts runs on",
        )
        return parts, alias

    def _agent_settings(self) -> dict[str, str]:
        """The agent's environment apart from its secrets' ARNs (and the API's URL)."""
        s = self.settings
        return {
            ENV_LLM_PROVIDER: s.llm_provider,
            ENV_AGENT_MODEL: s.model,
            ENV_TABLE: self.table.table_name,
            ENV_BUCKET: self.bucket.bucket_name,
            ENV_APPROVERS: s.approvers,
            ENV_SLASH_COMMAND: s.slash_command,
            ENV_APPROVAL_TIMEOUT: str(s.approval_timeout_hours * 3600),
            ENV_BUDGET_USD: str(s.run_budget_usd),
            ENV_EXPORT_BUCKETS: ",".join(s.export_bucket_names),
            ENV_EXPORT_LOG_GROUPS: ",".join(s.export_log_group_patterns),
        }

    def _agent_secrets(self) -> tuple[str, ...]:
        """The Slack token, the Anthropic key (unless on Bedrock), the MCP servers' secrets."""
        anthropic = self.settings.llm_provider == "anthropic"
        own = (ENV_SLACK_BOT_TOKEN, ENV_ANTHROPIC_API_KEY) if anthropic else (ENV_SLACK_BOT_TOKEN,)
        return (*own, *self.mcp_secret_names)

    def _control_environment(self) -> dict[str, str]:
        """What the control plane (agent.control.runs) needs in the Slack and the API function;
        the approval settings are the agent's, so all three read the same policy."""
        return {
            ENV_TABLE: self.table.table_name,
            ENV_AGENT_FUNCTION: f"{self.agent.function.function_name}:{AGENT_ALIAS}",
            ENV_APPROVERS: self.settings.approvers,
            ENV_APPROVAL_TIMEOUT: str(self.settings.approval_timeout_hours * 3600),
            ENV_SLASH_COMMAND: self.settings.slash_command,
        }

    def _slack_function(self) -> FunctionParts:
        """The Bolt app; its name is fixed so it can be allowed to invoke itself (see grants)."""
        return self._function("Slack", FunctionSpec(
            bundle=BUNDLES["slack"],
            description="signoff Slack app: commands, mentions, approval clicks",
            memory_mb=1024,  # CPU scales with memory: a cold start must still ack within 3 s
            timeout=Duration.seconds(60),
            environment={
                **self._control_environment(),
                **self._secret_env(ENV_SLACK_SIGNING_SECRET, ENV_SLACK_BOT_TOKEN),
            },
            function_name=self.slack_function_name,
        ))  # fmt: skip

    def _api_function(self) -> FunctionParts:
        """The HTTP API (api.handler): start, read, decide, cancel runs."""
        return self._function("Api", FunctionSpec(
            bundle=BUNDLES["api"],
            description="signoff HTTP API: runs and approvals for services",
            memory_mb=512,
            timeout=Duration.seconds(29),  # API Gateway stops waiting at 30 s
            environment={
                **self._control_environment(),
                **self._secret_env(ENV_SLACK_BOT_TOKEN),
                ENV_API_APPROVERS: self.settings.api_approvers,
                ENV_API_DELEGATES: self.settings.api_delegates,
            },
        ))  # fmt: skip

    def _function(self, id: str, spec: FunctionSpec) -> FunctionParts:
        return python_function(
            self,
            id,
            spec,
            bundle_dir=self.settings.bundle_dir,
            log_retention_days=self.settings.log_retention_days,
        )

    @property
    def slack_function_name(self) -> str:
        return f"{self.stack_name}-slack"

    # Permissions ---------------------------------------------------------------------------
    def _grants(self) -> None:
        """Each role gets what its code calls, on the resources it calls it on."""
        agent, slack, api = self.agent, self.slack, self.api
        for statement in self._agent_statements():
            agent.role.add_to_policy(statement)
        # Not in the role's default policy: the function depends on that policy, so a
        # statement naming the function's own ARN there would be a circular dependency.
        iam.Policy(
            self,
            "AgentCheckpointPolicy",
            roles=[agent.role],
            statements=[permissions.durable_checkpoints(agent.function)],
        )
        for parts, secrets in ((slack, (ENV_SLACK_SIGNING_SECRET, ENV_SLACK_BOT_TOKEN)),
                               (api, (ENV_SLACK_BOT_TOKEN,))):  # fmt: skip
            parts.role.add_to_policy(permissions.store_access(self.table))
            parts.role.add_to_policy(permissions.start_runs(self.alias))
            parts.role.add_to_policy(permissions.durable_control(agent.function))
            parts.role.add_to_policy(permissions.secret_read(*(self.secrets[s] for s in secrets)))
        api.role.add_to_policy(permissions.job_completion(agent.function))
        api.role.add_to_policy(permissions.run_listing(self.table))
        slack.role.add_to_policy(permissions.invoke_self(self, self.slack_function_name))

    def _agent_statements(self) -> list[iam.PolicyStatement]:
        statements = [
            permissions.store_access(self.table),
            permissions.blob_access(self.bucket),
            permissions.secret_read(*(self.secrets[s] for s in self._agent_secrets())),
        ]
        if self.settings.log_exports_enabled:
            statements += permissions.log_exports(
                self,
                log_groups=self.settings.export_log_group_patterns,
                buckets=self.settings.export_bucket_names,
            )
        if self.settings.llm_provider == "bedrock" and self.settings.bedrock_model:
            statements += permissions.bedrock_invoke(self, self.settings.bedrock_model)
        return statements

    # Alarms and outputs --------------------------------------------------------------------
    def _watched(self) -> Watched:
        return Watched(
            agent=self.agent.function,
            slack=self.slack.function,
            api=self.api.function,
            http=self.http,
        )

    def _outputs(self) -> None:
        outputs = {
            "ApiUrl": (self.http.url, "HTTP API base URL (IAM-authorised run routes)"),
            "SlackEventsUrl": (
                self.http.url + SLACK_EVENTS_PATH.lstrip("/"),
                "Request URL for the Slack manifest (events, commands, interactivity)",
            ),
            "ApiExecuteArn": (
                self.http.api.arn_for_execute_api(),
                "Resource for execute-api:Invoke in callers' IAM policies",
            ),
            "AgentAliasArn": (self.alias.function_arn, "The agent alias every run starts on"),
            "TableName": (self.table.table_name, "Runs and approvals"),
            "BlobBucketName": (self.bucket.bucket_name, "Large payloads"),
            "AlarmTopicArn": (self.alarm_topic.topic_arn, "Subscribe on-call here"),
        }
        for env in self.secrets:
            outputs[_secret_id(env, mcp=env in self.mcp_secret_names) + "Name"] = (
                self.secret_name(env),
                f"Fill with: aws secretsmanager put-secret-value --secret-id <this> ({env})",
            )
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)


def _secret_id(env_name: str, *, mcp: bool) -> str:
    """``SlackBotTokenSecret``; an MCP server's name kept as written (``McpSecretTICKETS_TOKEN``),
    since names that differ only in underscores would camel-case alike."""
    return f"McpSecret{env_name}" if mcp else env_name.title().replace("_", "") + "Secret"
