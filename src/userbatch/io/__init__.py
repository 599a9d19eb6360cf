"""Reading inputs: guards, encodings, header aliases and readers (SPEC §2)."""

from userbatch.io.guards import DEFAULT_MAX_BYTES
from userbatch.io.readers import RawSheet, ReadResult, read_inputs, read_sheets

__all__ = ["DEFAULT_MAX_BYTES", "RawSheet", "ReadResult", "read_inputs", "read_sheets"]
