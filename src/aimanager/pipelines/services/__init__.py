"""What the capabilities share: runtime and wiring, the planner, runs and their follow-ups, group
push, order feeds, progress."""
