"""sandbox/llm."""
