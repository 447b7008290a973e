"""The HTTP API, a front door beside the Slack app: the Lambda handler behind API Gateway and
its request and response models (which also make ``/openapi.json``).
"""
