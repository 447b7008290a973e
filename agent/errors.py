"""Errors of the agent package, grouped by what the caller does next.

    SignoffError
    ├── ConfigError           bad or missing environment: fix the deployment (terminal)
    ├── InvalidRunRequest     the run's input event is malformed: the run fails at once
    ├── ToolInputError        a tool got arguments it cannot use: back to Claude as is_error
    ├── ModelError            Claude answered with something we cannot use (terminal for the turn)
    └── StoreError            the run/approval table refused a write we rely on

Model transport errors (429, 529, 5xx, connection) are anthropic's own exception classes;
the LLM step's retry strategy classifies them (see ``agent.model.client.model_retry_strategy``).
"""


class SignoffError(Exception):
    """Base class for every error this package raises on purpose."""


class ConfigError(SignoffError):
    """An environment variable is missing or malformed; the message names it."""


class InvalidRunRequest(SignoffError):
    """The run's input event does not validate; the message names the field."""


class ToolInputError(SignoffError):
    """A tool cannot work with the arguments it was given; Claude sees the message."""


class ModelError(SignoffError):
    """Claude's reply cannot be used (for example it ended on max_tokens mid tool call)."""


class StoreError(SignoffError):
    """The table did not accept a write the workflow relies on."""
