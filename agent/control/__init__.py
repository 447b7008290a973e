"""The control plane both front doors share (the Slack app and the HTTP API): start a run,
decide or cancel exactly once, complete long-running jobs, report usage.
"""
