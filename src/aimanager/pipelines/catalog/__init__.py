"""Catalog import: reading CSV/XLSX files, validating rows, upserting products and listings."""
