"""sandbox/marketplaces."""
