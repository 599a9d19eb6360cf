"""Logging: plain lines on the terminal, optional log file, text or JSON lines."""

from __future__ import annotations

import json
import logging
import sys
import time


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            },
            ensure_ascii=False,
        )


class TerminalFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        return f"error: {message}" if record.levelno >= logging.ERROR else message


def configure_logging(*, quiet: bool = False, log_file=None, log_format: str = "text") -> None:
    logger = logging.getLogger("userbatch")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.INFO)
    logger.propagate = False
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(logging.ERROR if quiet else logging.INFO)
    terminal.setFormatter(JsonFormatter() if log_format == "json" else TerminalFormatter())
    logger.addHandler(terminal)
    if log_file:
        handler = logging.FileHandler(log_file, encoding="utf-8")
        handler.setFormatter(
            JsonFormatter()
            if log_format == "json"
            else logging.Formatter("%(asctime)s %(levelname)s %(message)s")
        )
        logger.addHandler(handler)


STAGES = ("read", "validate", "plan", "apply", "reports")


class Progress:
    """Stage progress: a bar on a terminal's stderr, plain key=value log lines otherwise
    (cron mail and log files get one line per finished stage)."""

    def __init__(self, stream=None) -> None:
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.log = logging.getLogger("userbatch")

    def _quiet(self) -> bool:
        return not self.log.handlers or self.log.handlers[0].level > logging.INFO

    def start(self, stage: str) -> None:
        if self.live and not self._quiet():
            step = STAGES.index(stage) if stage in STAGES else 0
            bar = "█" * (4 * step) + "░" * (4 * (len(STAGES) - step))
            self.stream.write(f"\r\x1b[2K{bar} {step + 1}/{len(STAGES)} {stage}…")
            self.stream.flush()

    def done(self, stage: str, seconds: float) -> None:
        if self.live:
            if not self._quiet():
                self.stream.write("\r\x1b[2K")
                self.stream.flush()
            self.log.debug(f"stage={stage} seconds={seconds:.3f}")
        else:
            self.log.info(f"stage={stage} seconds={seconds:.3f}")
