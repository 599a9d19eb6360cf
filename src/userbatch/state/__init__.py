"""The environment state: the in-memory model, the store, and snapshots (SPEC §3)."""
