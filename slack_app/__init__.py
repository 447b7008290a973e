"""The Slack app (Bolt for Python): starts runs from Slack and turns clicks into decisions.

Listeners stay thin: they ack, parse, authorise and call ``agent.control.runs``; slow work runs in
lazy listeners. The ack path never imports anthropic, so a cold start acks quickly.
"""
