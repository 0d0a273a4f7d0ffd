"""Adapters to the outside world: Redis and Parquet; owns every key and file format."""
