"""signoff's infrastructure: one CDK app (``infra.app``) with one stack (``infra.stack``).

Handlers are named as strings and env var names come from ``agent.config``; nothing here
imports the handlers' dependencies (anthropic, boto3, Bolt), so synth needs only aws-cdk-lib.
"""
