"""Approvals: what a gate asks (policy), who may decide (authz), the decisions a person can take,
the Block Kit cards they see, and the gate itself (save the record, post the card, wait, settle).
"""
