"""Partner reports rendered for people (self-contained HTML)."""
