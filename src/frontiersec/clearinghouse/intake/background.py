"""Parse a large file in a second process while the caller writes what it has already read.

An import is two kinds of work of about the same size: reading the file (JSON decoding and
normalization, :mod:`.sarif` and the other parsers) and deciding and writing findings (dedup and
the database). :func:`parse_in_background` moves the first to a child process, so on a machine
with two cores they overlap instead of adding up. The child runs the very same parser
(:func:`.registry.parse_file`) and sends findings in batches over a pipe, each batch with the
counts and the warnings so far; the pipe holds about one batch, so the child never runs far ahead
and memory stays flat on both sides. An :class:`IntakeError` in the child reaches the caller as
the same :class:`IntakeError` (same JSON path, same reason), at the same point of the stream; so
does any other failure of the child, as an error naming it. Leaving the iteration early (the
caller's transaction failed) stops the child.

:class:`BackgroundParse` has the interface of :class:`.registry.ParseResult` (``format``,
``fraction``, ``warnings``, ``received``, ``rejected``, iteration), so callers take either.
"""

from __future__ import annotations

import gc
import operator
import os
import pickle
import queue
import subprocess
import sys
import threading
import traceback
from collections.abc import Generator
from dataclasses import fields
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from .base import IntakeError, IntakeLimits, IntakeWarning, NormalizedFinding, ParseOptions
from .detect import DetectedFormat
from .registry import ParseResult, parse_file

__all__ = ["BACKGROUND_MIN_BYTES", "BackgroundParse", "parse_in_background"]

BACKGROUND_MIN_BYTES = 8 * 1024**2
"""Files at least this large are parsed in a second process (starting one costs ~0.2 s)."""

_SEND_EVERY = 1000
"""Findings per message from the child."""

_AHEAD = 8
"""Messages received ahead of the consumer (a thread drains the pipe, so the child keeps parsing
while this process writes a batch)."""

_FIELDS = tuple(f.name for f in fields(NormalizedFinding))
_AS_TUPLE = operator.attrgetter(*_FIELDS)


def _produce(
    conn: Connection,
    path: str,
    fmt: str,
    options: ParseOptions,
    schemas_dir: str | None,
    limits: IntakeLimits,
) -> None:
    """The child: parse ``path`` and send ``("batch", rows, received, rejected, fraction, warnings)``
    messages (``rows``: findings as tuples of their fields; ``warnings``: those added since the
    previous message), then ``("end",)``; or ``("error", pointer, reason)`` for an unusable file,
    ``("crash", detail)`` for anything else."""
    sent_warnings = 0

    def new_warnings(parsed: ParseResult) -> list[tuple[str, str]]:
        nonlocal sent_warnings
        out = [(w.pointer, w.message) for w in parsed.warnings[sent_warnings:]]
        sent_warnings = len(parsed.warnings)
        return out

    try:
        parsed = parse_file(
            Path(path), fmt, options, schemas_dir=Path(schemas_dir) if schemas_dir else None, limits=limits
        )
        rows: list[tuple[Any, ...]] = []
        gc.disable()  # as in the importer: young collections between messages only
        for finding in parsed:
            rows.append(_AS_TUPLE(finding))
            if len(rows) >= _SEND_EVERY:
                gc.collect(1)
                conn.send(
                    ("batch", rows, parsed.received, parsed.rejected, parsed.fraction, new_warnings(parsed))
                )
                rows = []
        conn.send(("batch", rows, parsed.received, parsed.rejected, 1.0, new_warnings(parsed)))
        conn.send(("end",))
    except (BrokenPipeError, ConnectionResetError):
        pass  # the importer is gone (its import failed or it was stopped): nothing to tell
    except IntakeError as exc:
        conn.send(("error", exc.pointer, exc.reason))
    except BaseException as exc:  # reported to the importer, which raises it
        detail = traceback.format_exception_only(type(exc), exc)[-1].strip()
        conn.send(("crash", detail))
    finally:
        conn.close()


class BackgroundParse:
    """The findings of one file, parsed by a child process (iterate once; see the module docstring)."""

    def __init__(
        self,
        path: Path,
        fmt: DetectedFormat,
        options: ParseOptions,
        schemas_dir: Path | None,
        limits: IntakeLimits,
    ) -> None:
        self.format: DetectedFormat = fmt
        self.path = path
        self._options = options
        self._schemas_dir = schemas_dir
        self._limits = limits
        self._warnings: list[IntakeWarning] = []
        self._received = 0
        self._rejected = 0
        self._fraction = 0.0
        self.child: subprocess.Popen[bytes] | None = None
        """The parser process of the current (or last) iteration."""

    @property
    def fraction(self) -> float:
        """Share of the file the child has read, 0.0 to 1.0."""
        return self._fraction

    @property
    def warnings(self) -> list[IntakeWarning]:
        """Deviations tolerated so far (as far as the child has read)."""
        return self._warnings

    @property
    def received(self) -> int:
        """Elements seen so far."""
        return self._received

    @property
    def rejected(self) -> int:
        """Elements rejected so far."""
        return self._rejected

    def __iter__(self) -> Generator[NormalizedFinding, None, None]:
        # A plain ``python -m`` child rather than multiprocessing's spawn, which would re-run the
        # caller's ``__main__`` script; the pipe's write end is the child's only shared descriptor.
        read_fd, write_fd = os.pipe()
        package_root = str(Path(__file__).resolve().parents[3])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([package_root, os.environ.get("PYTHONPATH", "")])}
        args = (
            str(self.path),
            self.format,
            self._options,
            str(self._schemas_dir) if self._schemas_dir is not None else None,
            self._limits,
        )
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", __name__, str(write_fd)],
                stdin=subprocess.PIPE,
                pass_fds=(write_fd,),
                env=env,
            )
        finally:
            os.close(write_fd)
        self.child = child
        receiver = Connection(read_fd, writable=False)
        assert child.stdin is not None
        child.stdin.write(pickle.dumps(args))
        child.stdin.close()
        inbox: queue.Queue[bytes | None] = queue.Queue(_AHEAD)
        stop = threading.Event()

        def drain() -> None:
            try:
                while not stop.is_set():
                    inbox.put(receiver.recv_bytes())
            except (EOFError, OSError):
                pass
            inbox.put(None)

        reader = threading.Thread(target=drain, name="frontiersec-parse-reader", daemon=True)
        reader.start()
        build = NormalizedFinding
        try:
            while True:
                data = inbox.get()
                if data is None:
                    code = child.wait(10)
                    raise IntakeError("$", f"the parser process stopped unexpectedly (exit code {code})")
                message = pickle.loads(data)
                kind = message[0]
                if kind == "end":
                    child.wait(30)
                    break
                if kind == "error":
                    raise IntakeError(message[1], message[2])
                if kind == "crash":
                    raise RuntimeError(f"parser process failed: {message[1]}")
                _, rows, received, rejected, fraction, warnings = message
                self._received, self._rejected, self._fraction = received, rejected, fraction
                self._warnings.extend(IntakeWarning(p, m) for p, m in warnings)
                for row in rows:
                    yield build(*row)
        finally:
            stop.set()
            if child.poll() is None:
                child.terminate()
            child.wait(10)
            while reader.is_alive():  # unblock a reader waiting on a full inbox
                try:
                    inbox.get_nowait()
                except queue.Empty:
                    reader.join(0.05)
            receiver.close()

    def collect(self) -> list[NormalizedFinding]:
        """Consume every finding into a list."""
        return list(self)


def parse_in_background(
    path: Path | str,
    fmt: DetectedFormat | str = "auto",
    options: ParseOptions | None = None,
    *,
    schemas_dir: Path | None = None,
    limits: IntakeLimits | None = None,
) -> BackgroundParse:
    """Like :func:`.registry.parse_file`, with the parsing done by a child process.

    The file is opened and its format detected here first, so an empty, unreadable or unrecognised
    file raises :class:`IntakeError` at once, as with :func:`parse_file`; the child starts when
    iteration does.
    """
    path = Path(path)
    options = options or ParseOptions()
    limits = limits or IntakeLimits()
    opened = parse_file(path, fmt, options, schemas_dir=None, limits=limits)
    return BackgroundParse(path, opened.format, options, schemas_dir, limits)


def _main() -> None:
    """Child entry: ``python -m frontiersec.clearinghouse.intake.background FD`` with the pickled
    arguments of :func:`_produce` on standard input."""
    conn = Connection(int(sys.argv[1]), readable=False)
    path, fmt, options, schemas_dir, limits = pickle.loads(sys.stdin.buffer.read())
    _produce(conn, path, fmt, options, schemas_dir, limits)


if __name__ == "__main__":
    _main()
