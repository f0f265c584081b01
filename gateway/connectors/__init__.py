"""Connectors that fetch data from partner systems (as opposed to adapters, which only convert
bytes). Each hands what it fetched to `gateway.ingest.pipeline.ingest_items` as one batch."""
