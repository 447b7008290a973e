"""Remote MCP servers' tools as ``Tool``s: the policy file's ``[mcp.servers]``, the SDK client,
the listing a run keeps, and the calls (each a durable step behind the usual gates)."""
