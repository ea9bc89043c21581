"""Purchases: products with their usage cycles, orders and their items."""
