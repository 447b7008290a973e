"""Stand-ins for what tests cannot reach (Claude, Slack, AWS), speaking the real protocols.

Import them as ``tests.fakes.<module>`` (never bare ``fakes``): pytest also puts ``tests/`` on
``sys.path``, and two import names would give two copies of each module.

- ``claude``: ``FakeClaude`` (Messages API incl. SSE and Bedrock's event stream), ``Reply``,
  ``Fault``, ``Disconnect``, ``scripted``.
- ``slack``: ``FakeSlack`` (Web API with channels, threads, metadata, ephemerals, modals).
- ``aws``: ``Dynalite`` (DynamoDB), ``MotoS3``, ``FakeLambdaInvoke``.
- ``logs``: ``FakeLogs`` (CloudWatch Logs export tasks that take a few checks to finish).
- ``jobs``: ``FakeJobService`` (an HTTP service with start and status endpoints, or callbacks).
"""
