"""signoff's durable agent: Claude in durable steps, parallel tools, human approval gates.

Four replay rules every change here must keep (the durable SDK replays the handler from the
top on every invocation and matches operations by position):

1. Everything non-deterministic (time, ids, randomness, network, env reads) happens inside a
   step; branch only on step results, callback results and the input event.
2. Operation names are stable and unique per position (``llm-3``, ``tools-3``); renaming or
   reordering operations breaks runs already in flight.
3. Steps are at-least-once: every side effect is idempotent (Slack posts update instead of
   posting twice; side-effecting tools run AT_MOST_ONCE_PER_RETRY with an idempotency key).
4. Never ``except BaseException`` or a bare ``except`` around durable calls: suspension is a
   BaseException. Log with ``context.logger`` (replay-aware), never ``print``.
"""
