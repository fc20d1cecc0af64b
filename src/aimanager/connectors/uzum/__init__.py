"""Uzum Market connector: prices, FBS stocks, finance/products reads, and the XLSX card export."""
