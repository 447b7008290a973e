"""Where a run keeps what outlives an invocation: DynamoDB records (runs, approvals, jobs),
S3 blobs for outputs too large to checkpoint, and Slack posts made idempotent by their key.
"""
