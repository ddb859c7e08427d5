"""Large captures on two cores: packets are read in a helper process, the pipeline runs here.

Replaying a capture is two jobs of about the same size: reading packets (reassembly, TLS,
HTTP parsing) and the pipeline (classifying payloads, enriching addresses, writing SQLite).
In one process they take turns on the GIL; here a helper (``python -m`` this module) reads the
file and writes the Observations it makes to its stdout, pickled in batches, and this process
hands them to the pipeline, so both cores work. A plain subprocess rather than
``multiprocessing``: spawning would re-run the caller's main script, forking is unsafe with
the pipeline's thread running. Starting it costs a few tenths of a second, so only large
files use it.

The helper writes, in order, length-prefixed pickles: batches of observations, progress
positions, the summary line, then ``done``, an InputError's message, or a crash's traceback.
Records travel as (type number, field values): pickling frozen dataclasses goes through
Python-level ``__getstate__`` for each, which cost the helper, the busier of the two
processes, three times as much (8 % of its time).
"""

from __future__ import annotations

import contextlib
import dataclasses
import operator
import pickle
import signal
import struct
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any, Final, get_args

from borderflow.analysis.errors import InputError
from borderflow.analysis.records import Observation, Record
from borderflow.analysis.tlsdecrypt.keylog import KeyLog

_BATCH: Final = 256  # observations per message
_BATCH_WAIT: Final = 0.1  # seconds a partial batch may wait
_LENGTH = struct.Struct("!I")
_RECORD_TYPES: Final[tuple[type[Record], ...]] = get_args(Record)
_TYPE_NUMBERS: Final = {kind: n for n, kind in enumerate(_RECORD_TYPES)}
_FIELDS: Final = [tuple(f.name for f in dataclasses.fields(kind)) for kind in _RECORD_TYPES]
_VALUES: Final = [operator.attrgetter(*names) for names in _FIELDS]
# Records are frozen dataclasses with slots: their slots' own setters fill a new one, as
# the dataclass's ``__setstate__`` would, without its Python-level loop (less than half the
# cost of ``__init__`` with keywords, a quarter of unpickling).
_SETTERS: Final = [
    [getattr(kind, name).__set__ for name in names]
    for kind, names in zip(_RECORD_TYPES, _FIELDS, strict=True)
]
_PIPE_SIZE: Final = 1 << 20  # the helper runs ahead of a busy pipeline instead of waiting

# An Observation on the wire: its records as (type number, field values), its payloads and
# destinations as they are.
_Packed = tuple[tuple[tuple[int, tuple[Any, ...]], ...], tuple[Any, ...], tuple[str, ...]]


def _pack(obs: Observation) -> _Packed:
    records = []
    for record in obs.records:
        n = _TYPE_NUMBERS[type(record)]
        records.append((n, _VALUES[n](record)))
    return tuple(records), obs.payloads, obs.destinations


def _record(n: int, values: tuple[Any, ...]) -> Record:
    record: Record = object.__new__(_RECORD_TYPES[n])
    for setter, value in zip(_SETTERS[n], values, strict=True):
        setter(record, value)
    return record


def _unpack(packed: _Packed) -> Observation:
    records, payloads, destinations = packed
    return Observation(
        records=tuple(_record(n, v) for n, v in records),
        payloads=payloads,
        destinations=destinations,
    )


class HelperUnavailable(Exception):
    """The helper process could not be started (no usable interpreter): read in-process."""


def start_helper(
    path: Path, capture_id: str, app: str | None, keys: KeyLog | None
) -> subprocess.Popen[bytes]:
    """Start the helper and hand it its job; HelperUnavailable if it cannot run."""
    try:
        process = subprocess.Popen(  # noqa: S603 - this interpreter, this module
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
    except OSError as e:
        raise HelperUnavailable(str(e)) from e
    assert process.stdin is not None
    assert process.stdout is not None
    with contextlib.suppress(ImportError, AttributeError, OSError):  # Linux only; may be capped
        import fcntl

        fcntl.fcntl(process.stdout, fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
    with process.stdin:
        process.stdin.write(pickle.dumps((path, capture_id, app, keys)))
    return process


def observations_in_helper(
    process: subprocess.Popen[bytes],
    *,
    progress: Callable[[int], None] | None,
    on_summary: Callable[[str], None] | None,
) -> Iterator[Observation]:
    """``PcapReplay(...).observations()``, computed by a helper from ``start_helper``."""
    assert process.stdout is not None
    try:
        while True:
            message = _read(process.stdout)
            if message is None:
                raise RuntimeError(
                    f"the pcap reader process ended unexpectedly (exit status {process.poll()})"
                )
            kind, value = message
            if kind == "observations":
                yield from map(_unpack, value)
            elif kind == "progress" and progress is not None:
                progress(int(value))
            elif kind == "summary" and on_summary is not None:
                on_summary(str(value))
            elif kind == "input_error":
                raise InputError(str(value))
            elif kind == "crash":
                raise RuntimeError(f"the pcap reader process failed:\n{value}")
            elif kind == "done":
                return
    finally:
        process.stdout.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _read(stream: IO[bytes]) -> tuple[str, Any] | None:
    head = stream.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        return None
    (size,) = _LENGTH.unpack(head)
    body = stream.read(size)
    if len(body) < size:
        return None
    kind, value = pickle.loads(body)  # noqa: S301 - written by our own child process
    return kind, value


def main() -> None:
    """The helper: read the job from stdin, replay the file, write everything to stdout."""
    from borderflow.analysis.sources.pcap import PcapReplay

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    path, capture_id, app, keys = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - our parent
    out = sys.stdout.buffer

    def send(kind: str, value: object) -> None:
        data = pickle.dumps((kind, value), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(_LENGTH.pack(len(data)) + data)
        out.flush()

    batch: list[_Packed] = []
    deadline = time.monotonic() + _BATCH_WAIT

    def flush() -> None:
        nonlocal batch, deadline
        if batch:
            send("observations", batch)
            batch = []
        deadline = time.monotonic() + _BATCH_WAIT

    def progress(position: int) -> None:
        flush()
        send("progress", position)

    def summary(text: str) -> None:
        flush()
        send("summary", text)

    replay = PcapReplay(
        path,
        capture_id,
        app=app,
        keys=keys,
        progress=progress,
        on_summary=summary,
        parallel_threshold=None,
    )
    with contextlib.suppress(BrokenPipeError):
        try:
            for observation in replay.observations():
                batch.append(_pack(observation))
                if len(batch) >= _BATCH or time.monotonic() >= deadline:
                    flush()
            flush()
            send("done", None)
        except InputError as e:
            flush()
            send("input_error", str(e))
        except BaseException:  # noqa: BLE001 - a bug: its traceback goes to the parent
            flush()
            send("crash", traceback.format_exc())


if __name__ == "__main__":
    main()
