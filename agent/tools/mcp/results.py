"""An MCP tool result as the text Claude reads: text and structured content as they are,
other content described (Claude cannot see an image or a blob through a tool_result here)."""

from __future__ import annotations

import base64
import json
from typing import Any

from mcp.types import (
    AudioContent,
    BlobResourceContents,
    CallToolResult,
    EmbeddedResource,
    ImageContent,
    ResourceLink,
    TextContent,
    TextResourceContents,
)


def result_text(result: CallToolResult) -> str:
    """Every content block in order, then the structured content unless a text block already
    holds it as JSON (servers send both for older clients)."""
    parts = [_block(block) for block in result.content]
    structured = result.structured_content
    if structured is not None and not any(_same_json(p, structured) for p in parts):
        parts.append("structured content: " + json.dumps(structured, ensure_ascii=False))
    return "\n\n".join(parts) if parts else "(the tool returned no content)"


def _block(block: Any) -> str:
    match block:
        case TextContent(text=text):
            return text
        case ImageContent(mime_type=mime, data=data) | AudioContent(mime_type=mime, data=data):
            kind = "image" if isinstance(block, ImageContent) else "audio"
            return f"[{kind} content ({mime}, {_decoded_size(data)}): not shown]"
        case ResourceLink(uri=uri, name=name, mime_type=mime):
            return f"[a link to the resource {name!r} at {uri}{f' ({mime})' if mime else ''}]"
        case EmbeddedResource(resource=TextResourceContents(uri=uri, text=text)):
            return f"[resource {uri}]\n{text}"
        case EmbeddedResource(resource=BlobResourceContents(uri=uri, blob=blob, mime_type=mime)):
            return f"[resource {uri} ({mime or 'binary'}, {_decoded_size(blob)}): not shown]"
        case _:
            return f"[{getattr(block, 'type', 'unknown')} content: not shown]"


def _decoded_size(data: str) -> str:
    try:
        size = len(base64.b64decode(data, validate=False))
    except ValueError:
        size = len(data)
    return f"{size} bytes"


def _same_json(text: str, structured: Any) -> bool:
    try:
        return bool(json.loads(text) == structured)
    except ValueError:
        return False
