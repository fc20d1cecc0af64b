"""AI Manager: AI and sync work for marketplace seller partners, run as prioritised jobs."""

__version__ = "0.1.0"
