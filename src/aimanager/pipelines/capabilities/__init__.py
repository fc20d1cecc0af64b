"""The job handlers of each capability: cards, pricing, stock, analytics."""
