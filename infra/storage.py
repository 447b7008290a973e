"""The run/approval table and the large-payload bucket (plus the bucket's access-log bucket)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.permissions import AUDIT_INDEX, CHANNEL_INDEX, PENDING_INDEX, REQUESTER_INDEX

TTL_ATTRIBUTE = "ttl"
ACCESS_LOG_DAYS = 90


def run_table(scope: Construct) -> dynamodb.TableV2:
    """Runs and approvals, as ``agent.storage.store.create_table`` makes them (a test checks)."""
    return dynamodb.TableV2(
        scope,
        "Table",
        partition_key=_string("pk"),
        sort_key=_string("sk"),
        billing=dynamodb.Billing.on_demand(),
        encryption=dynamodb.TableEncryptionV2.aws_managed_key(),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=TTL_ATTRIBUTE,
        deletion_protection=True,
        removal_policy=RemovalPolicy.RETAIN,
        global_secondary_indexes=[
            _index(REQUESTER_INDEX, "gsi_requester", "created_at"),
            _index(CHANNEL_INDEX, "gsi_channel", "created_at"),
            _index(PENDING_INDEX, "pending", "created_at"),
            _index(AUDIT_INDEX, "audit_day", "audit_at"),
        ],
    )


def blob_bucket(scope: Construct, *, expiry_days: int) -> s3.Bucket:
    """Large tool outputs and model replies, referenced from checkpoints; they expire."""
    return s3.Bucket(
        scope,
        "Blobs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        server_access_logs_bucket=_access_log_bucket(scope),
        server_access_logs_prefix="blobs/",
        lifecycle_rules=[
            s3.LifecycleRule(
                id="expire-with-runs",
                expiration=Duration.days(expiry_days),
                abort_incomplete_multipart_upload_after=Duration.days(1),
            )
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )


def _access_log_bucket(scope: Construct) -> s3.Bucket:
    # Server access logs can only be delivered to SSE-S3 buckets.
    return s3.Bucket(
        scope,
        "AccessLogs",
        encryption=s3.BucketEncryption.S3_MANAGED,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
        object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
        enforce_ssl=True,
        minimum_tls_version=1.2,
        lifecycle_rules=[
            s3.LifecycleRule(id="expire-logs", expiration=Duration.days(ACCESS_LOG_DAYS))
        ],
        removal_policy=RemovalPolicy.RETAIN,
    )


def _string(name: str) -> dynamodb.Attribute:
    return dynamodb.Attribute(name=name, type=dynamodb.AttributeType.STRING)


def _index(name: str, partition: str, sort: str) -> dynamodb.GlobalSecondaryIndexPropsV2:
    return dynamodb.GlobalSecondaryIndexPropsV2(
        index_name=name,
        partition_key=_string(partition),
        sort_key=_string(sort),
        projection_type=dynamodb.ProjectionType.ALL,
    )
