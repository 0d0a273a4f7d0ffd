"""The HTTP API for senders (FastAPI): the only code that imports FastAPI."""
