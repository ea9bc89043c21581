"""Importing tables from spreadsheets: reading, hostile-file checks, column mapping, values,
and background jobs that commit in batches and resume after a crash. Generic: each target
(customers, orders) plugs in its field catalogue and a batch writer."""
