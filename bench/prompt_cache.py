"""How the Messages API would bill a run's requests with prompt caching (pure).

The API reads a request as tools, then system, then the message blocks, and caches prefixes
that end at a ``cache_control`` breakpoint. For each request, in order and at its time:

- a hit is the longest prefix, ending within 20 blocks before one of the request's
  breakpoints, that an earlier request wrote and whose entry has not expired: those tokens
  are billed as cache reads (and the entry's lifetime starts again);
- every breakpoint past the hit writes its prefix (if at least the model's minimum
  cacheable length): the tokens from the hit to the last such breakpoint are billed as cache
  writes, at the 5-minute or 1-hour rate of the breakpoint that ends them;
- the rest is plain input.

Tokens are the request's input tokens as the API (here the fake) reported them, shared
among the blocks in proportion to their JSON bytes. Without caching, every input token is
plain input. Prices come from ``agent.model.pricing``.

Caching is also measured against its own ideal: ``cache_read_share`` (how much of the
previous request the next one reads back, 1.0 at best) and ``ideal_usd`` (the requests
billed as a cache that never misses would bill them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from agent.model.pricing import turn_cost

LOOKBACK_BLOCKS = 20
TTL_SECONDS = {"5m": 300, "1h": 3600}
# Minimum cacheable prompt length, tokens (Anthropic's prompt caching docs): 1024 for the
# Sonnet and Opus models, 2048 for Haiku.
MIN_TOKENS = {"haiku": 2048}
DEFAULT_MIN_TOKENS = 1024


@dataclass(frozen=True)
class Billed:
    """One request's input tokens as the API would bill them."""

    input_tokens: int
    cache_read_input_tokens: int
    cache_creation_input_tokens: int
    cache_creation_1h_input_tokens: int
    output_tokens: int

    def usage(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class _Block:
    prefix: str  # a hash of every block up to and including this one
    tokens: float
    ttl: str | None  # the breakpoint's TTL, or None when the block has no breakpoint


def blocks_of(body: dict[str, Any], input_tokens: int) -> list[_Block]:
    """The request's blocks in cache order, each with its share of the input tokens."""
    raw, texts = _block_texts(body)
    total = sum(len(text) for text in texts) or 1
    digest, blocks = hashlib.sha256(), []
    for block, text in zip(raw, texts, strict=True):
        digest.update(text.encode())
        marker = block.get("cache_control")
        ttl = None if marker is None else str(marker.get("ttl", "5m"))
        blocks.append(_Block(digest.hexdigest(), input_tokens * len(text) / total, ttl))
    return blocks


def input_bytes(body: dict[str, Any]) -> int:
    """The request's input as the cache sees it: its blocks' JSON, markers left out."""
    return sum(len(text) for text in _block_texts(body)[1])


def _block_texts(body: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The blocks in cache order (tools, system, messages) and each one's JSON."""
    raw: list[dict[str, Any]] = [*body.get("tools", []), *_as_blocks(body.get("system"))]
    for message in body.get("messages", []):
        raw += [{"role": message["role"], **block} for block in _as_blocks(message["content"])]
    return raw, [json.dumps(_without_marker(block), sort_keys=True) for block in raw]


def _as_blocks(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str):
        return [{"type": "text", "text": value}]
    return list(value)


def _without_marker(block: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in block.items() if key != "cache_control"}


class PromptCache:
    """The API's cache for one workspace, replayed request by request."""

    def __init__(self, model: str, *, minimum: int | None = None) -> None:
        self.model = model
        self.minimum = (
            minimum
            if minimum is not None
            else next((v for k, v in MIN_TOKENS.items() if k in model), DEFAULT_MIN_TOKENS)
        )
        self.entries: dict[str, tuple[float, str]] = {}  # prefix -> (expires at, ttl)

    def bill(self, body: dict[str, Any], usage: dict[str, Any], at: float) -> Billed:
        """The request sent at ``at`` (seconds), with the usage the API reported."""
        blocks = blocks_of(body, int(usage["input_tokens"]))
        breakpoints = [i for i, block in enumerate(blocks) if block.ttl is not None]
        hit = self._hit(blocks, breakpoints, at)
        written = {"5m": 0.0, "1h": 0.0}
        start = hit + 1
        for index in breakpoints:
            prefix_tokens = sum(b.tokens for b in blocks[: index + 1])
            if index <= hit or prefix_tokens < self.minimum:
                continue
            ttl = str(blocks[index].ttl)
            written[ttl] += sum(b.tokens for b in blocks[start : index + 1])
            self.entries[blocks[index].prefix] = (at + TTL_SECONDS[ttl], ttl)
            start = index + 1
        read = sum(b.tokens for b in blocks[: hit + 1])
        created = written["5m"] + written["1h"]
        return Billed(
            input_tokens=round(sum(b.tokens for b in blocks) - read - created),
            cache_read_input_tokens=round(read),
            cache_creation_input_tokens=round(created),
            cache_creation_1h_input_tokens=round(written["1h"]),
            output_tokens=int(usage["output_tokens"]),
        )

    def _hit(self, blocks: list[_Block], breakpoints: list[int], at: float) -> int:
        """The last block of the longest live cached prefix within reach (-1: none)."""
        reachable = {i for bp in breakpoints for i in range(max(0, bp - LOOKBACK_BLOCKS), bp + 1)}
        for index in sorted(reachable, reverse=True):
            entry = self.entries.get(blocks[index].prefix)
            if entry is not None and entry[0] >= at:
                self.entries[blocks[index].prefix] = (at + TTL_SECONDS[entry[1]], entry[1])
                return index
        return -1


@dataclass(frozen=True)
class RunBill:
    """A run's Claude cost three ways: as cached, without caching, and at caching's ideal."""

    cached_usd: float
    uncached_usd: float
    ideal_usd: float
    billed: list[Billed]


def bill_run(model: str, requests: list[tuple[dict[str, Any], dict[str, Any], float]]) -> RunBill:
    """Dollars for ``(body, reported usage, sent at)`` requests: with caching, without, and
    as a cache that never misses would bill them."""
    cache = PromptCache(model)
    billed = [cache.bill(body, usage, at) for body, usage, at in requests]
    uncached = sum(
        turn_cost(model, {"input_tokens": u["input_tokens"], "output_tokens": u["output_tokens"]})
        for _, u, _ in requests
    )
    return RunBill(
        cached_usd=sum(turn_cost(model, b.usage()) for b in billed),
        uncached_usd=uncached,
        ideal_usd=sum(turn_cost(model, b.usage()) for b in ideal_billing(requests)),
        billed=billed,
    )


def ideal_billing(requests: list[tuple[dict[str, Any], dict[str, Any], float]]) -> list[Billed]:
    """The requests as a perfect cache bills them: every block the previous request sent is
    read from the cache; the newest turn's blocks are written for the next request to read
    (5-minute rate), or plain input on the last request, which nothing reads after."""
    billed, seen = [], 0
    for number, (body, usage, _) in enumerate(requests):
        blocks = blocks_of(body, int(usage["input_tokens"]))
        read = sum(block.tokens for block in blocks[:seen])
        newest = sum(block.tokens for block in blocks[seen:])
        last = number == len(requests) - 1
        billed.append(
            Billed(
                input_tokens=round(newest) if last else 0,
                cache_read_input_tokens=round(read),
                cache_creation_input_tokens=0 if last else round(newest),
                cache_creation_1h_input_tokens=0,
                output_tokens=int(usage["output_tokens"]),
            )
        )
        seen = len(blocks)
    return billed


def cache_read_share(before: dict[str, Any], after: dict[str, Any]) -> float:
    """Of ``before``'s input bytes, the share ``after`` reads from the cache ``before``
    wrote (1.0: the new request reads all of the previous one back; only its newest turn
    is new). Timing and the minimum cacheable length are left out: this is the placement
    of the breakpoints alone."""
    cache = PromptCache("", minimum=0)
    cache.bill(before, {"input_tokens": input_bytes(before), "output_tokens": 0}, at=0)
    # One token per byte: the shares read are shares of bytes.
    usage = {"input_tokens": input_bytes(after), "output_tokens": 0}
    read = cache.bill(after, usage, at=0).cache_read_input_tokens
    return read / (input_bytes(before) or 1)
