"""The table (same keys and indexes as agent.storage.store's local table) and the blob bucket."""

from __future__ import annotations

from typing import Any

from agent.storage.store import (
    AUDIT_INDEX,
    CHANNEL_INDEX,
    PENDING_INDEX,
    REQUESTER_INDEX,
    create_table,
)
from infra import permissions
from tests.infra.conftest import Synthesized


class _RecordingDynamoDB:
    """Enough of a boto3 DynamoDB client for ``create_table`` to describe its table."""

    def __init__(self) -> None:
        self.created: dict[str, Any] = {}

    def create_table(self, **kwargs: Any) -> None:
        self.created = kwargs

    def get_waiter(self, name: str) -> Any:
        class _Waiter:
            def wait(self, **kwargs: Any) -> None:
                pass

        return _Waiter()


def _table(synth: Synthesized) -> dict[str, Any]:
    (table,) = synth.resources("AWS::DynamoDB::GlobalTable").values()
    return table


def test_table_keys_and_indexes_match_agent_store(default: Synthesized) -> None:
    local = _RecordingDynamoDB()
    create_table(local, "signoff")
    props = _table(default)["Properties"]
    assert props["KeySchema"] == local.created["KeySchema"]
    assert sorted(props["AttributeDefinitions"], key=str) == sorted(
        local.created["AttributeDefinitions"], key=str
    )
    deployed = {i["IndexName"]: i for i in props["GlobalSecondaryIndexes"]}
    for index in local.created["GlobalSecondaryIndexes"]:
        assert deployed[index["IndexName"]]["KeySchema"] == index["KeySchema"]
        assert deployed[index["IndexName"]]["Projection"] == index["Projection"]
    assert set(deployed) == {REQUESTER_INDEX, CHANNEL_INDEX, PENDING_INDEX, AUDIT_INDEX}
    assert (
        permissions.REQUESTER_INDEX,
        permissions.CHANNEL_INDEX,
        permissions.PENDING_INDEX,
        permissions.AUDIT_INDEX,
    ) == (REQUESTER_INDEX, CHANNEL_INDEX, PENDING_INDEX, AUDIT_INDEX)


def test_table_is_on_demand_encrypted_recoverable_and_expires_records(
    default: Synthesized,
) -> None:
    table = _table(default)
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    (replica,) = props["Replicas"]
    assert replica["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert replica["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"


def _bucket(synth: Synthesized, construct: Any) -> dict[str, Any]:
    return synth.json["Resources"][synth.lid(construct)]  # type: ignore[no-any-return]


def test_blob_bucket_is_private_encrypted_and_logged(default: Synthesized) -> None:
    props = _bucket(default, default.stack.bucket)["Properties"]
    (encryption,) = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert props["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert "DestinationBucketName" in props["LoggingConfiguration"]


def test_blob_bucket_refuses_plain_http(default: Synthesized) -> None:
    bucket_id = default.lid(default.stack.bucket)
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for p in default.resources("AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": bucket_id}
    ]
    (statements,) = policies
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in statements
    )


def _expiry_days(synth: Synthesized) -> int:
    (rule,) = _bucket(synth, synth.stack.bucket)["Properties"]["LifecycleConfiguration"]["Rules"]
    return int(rule["ExpirationInDays"])


def test_blobs_outlive_the_longest_run_plus_its_history(
    default: Synthesized, bedrock: Synthesized
) -> None:
    # A blob written on a run's first day is read again on every replay until the run ends.
    assert _expiry_days(default) == 7 + 14
    assert _expiry_days(bedrock) == 30 + 30
