"""Yandex Market (Market Yandex Go) connector: offer mappings, prices, stocks, orders, reports."""
