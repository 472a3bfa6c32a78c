"""Run a parser in a child process whose address space is capped, with a time limit.

Checks before parsing (sizes, a ZIP's directory) bound what an upload can hold, but a file within
them can still make a parser build hundreds of megabytes (openpyxl loads a workbook's shared
strings when it opens; one CSV line may hold millions of cells). So the first full read of every
upload runs in a child process with ``RLIMIT_AS`` set to what the child already uses plus
``memory_mb``: past it, allocation fails with MemoryError in the child alone, and the worker and
the web process never see the memory. A child that dies any other way, or runs past its time, is
a failure too; the caller turns each kind into its message (``LimitedRunError.reason``).

Children are forked from multiprocessing's fork server (a small single-threaded process started
on first use, with this module and the parsers already imported): forking the worker itself would
copy its threads' locks, and a fresh interpreter per upload would cost seconds of imports.

Used by the spreadsheet import (``plugins/spreadsheet_import/limited.py``) and the company mess's
roster upload (``plugins/company_mess/roster_csv.py``); each names its parser's modules with
``preload``, so the core names no plugin.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import resource
from typing import Any, Callable

from flask_babel import lazy_gettext as _l

log = logging.getLogger(__name__)

MEMORY_EXIT_CODE = 75  # the child ran out of its allowed memory
# Imported by the fork server once, before its first child: this module and the parsers' modules
# (``preload``), never "__main__" (that would be gunicorn's, flask's or pytest's script run a
# second time).
PRELOAD = [__name__]
_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class LimitedRunError(Exception):
    """The child gave no result. ``reason`` is "refused" (the function raised an error carrying a
    ``message`` for the user, rebuilt here as ``message``), "memory" (over the limit), "timeout"
    or "crashed" (any other end; logged by its kind only)."""

    def __init__(self, reason: str, message=None):
        super().__init__(reason)
        self.reason = reason
        self.message = message


def preload(*module_names: str) -> None:
    """Have the fork server import these modules (a plugin's parser and what it needs) once,
    before its first child, instead of every child importing them again. Call it when the
    parser's module is imported, i.e. before the first upload (a module named after the server
    started is imported by each child instead: slower, not wrong)."""
    for name in module_names:
        if name not in PRELOAD:
            PRELOAD.append(name)


def _context():
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    return context


def _address_space() -> int:
    """This process's virtual size in bytes (what RLIMIT_AS counts), 0 when unknown."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[0]) * _PAGE_SIZE
    except (OSError, ValueError, IndexError):
        return 0


def message_parts(message) -> tuple[str, dict]:
    """A lazy message as (msgid, its variables), so the parent can translate it: the child has
    no app and no locale."""
    args = getattr(message, "_args", None)
    if args:
        return str(args[0]), dict(getattr(message, "_kwargs", {}))
    return str(message), {}


def _child(connection, function: Callable, args: tuple, memory_bytes: int) -> None:
    """Runs in the child: cap the address space, run the function, send one answer."""
    try:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (_address_space() + memory_bytes,) * 2)
            result = function(*args)
        except MemoryError:
            os._exit(MEMORY_EXIT_CODE)  # nothing more is allocated: the exit code says it
        except Exception as error:  # noqa: BLE001 - a message for the user, or the error's kind only: a text may quote the file's data
            message = getattr(error, "message", None)
            if message is not None:
                connection.send(("refused", *message_parts(message)))
            else:
                connection.send(("crashed", type(error).__name__, {}))
            return
        connection.send(("ok", result))
    finally:
        connection.close()


def run_limited(function: Callable, args: tuple, memory_mb: int, timeout_seconds: float) -> Any:
    """``function(*args)`` in a child process under a memory and a time limit; its result (it and
    the arguments are pickled: a module-level function, plain values). Raises LimitedRunError."""
    context = _context()
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, function, tuple(args), memory_mb * 1024 * 1024),
                              name="limited-parse", daemon=True)
    process.start()
    sender.close()
    answer = None
    try:
        if receiver.poll(timeout_seconds):
            try:
                answer = receiver.recv()
            except EOFError:  # the child died without answering
                answer = None
        else:
            process.kill()
            raise LimitedRunError("timeout")
    finally:
        receiver.close()
        process.join(10)
        if process.is_alive():  # pragma: no cover - it answered, then hung
            process.kill()
            process.join(10)
    if answer is None:
        if process.exitcode == MEMORY_EXIT_CODE:
            raise LimitedRunError("memory")
        log.error("the parse process of %s ended with exit code %s", function.__name__, process.exitcode)
        raise LimitedRunError("crashed")
    if answer[0] == "ok":
        return answer[1]
    if answer[0] == "refused":
        _kind, msgid, variables = answer
        raise LimitedRunError("refused", _l(msgid, **variables))
    log.error("the parse process of %s failed with %s", function.__name__, answer[1])
    raise LimitedRunError("crashed")
