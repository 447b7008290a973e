"""The stack's settings: read from CDK context, checked before anything is synthesized."""

from __future__ import annotations

import pytest

from infra.settings import SettingsError, StackSettings


def test_log_exports_are_off_unless_both_buckets_and_log_groups_are_named() -> None:
    assert not StackSettings().log_exports_enabled
    assert not StackSettings(export_buckets="audit-exports").log_exports_enabled
    named = StackSettings.from_context(
        {"export_buckets": "audit-exports,archive", "export_log_groups": "/aws/lambda/*"}.get
    )
    assert named.log_exports_enabled
    assert named.export_bucket_names == ("audit-exports", "archive")
    assert named.export_log_group_patterns == ("/aws/lambda/*",)


@pytest.mark.parametrize(
    ("context", "named"),
    [
        ({"export_buckets": "Not_A_Bucket"}, "export_buckets"),
        ({"export_log_groups": "/aws/*/x"}, "export_log_groups"),
        ({"approvers": "alice"}, "approvers"),
    ],
)
def test_a_bad_value_fails_the_synth_naming_its_context_key(
    context: dict[str, str], named: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{named}: "):
        StackSettings.from_context(context.get)
