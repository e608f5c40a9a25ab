"""The MCP server (`velo mcp`): a project's streams, the engine and the pipelines as tools for
AI agents."""
