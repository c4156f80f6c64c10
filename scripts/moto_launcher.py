#!/usr/bin/env python3
"""Start moto_server (moto 5.2.5) with DMS dates rendered as epoch seconds.

moto renders the dates of DMS replication instances and tasks as ISO-8601
strings (``datetime.isoformat()`` in ``moto/dms/models.py``), but the
awsJson1_1 protocol uses epoch seconds (JSON numbers). boto3 tolerates the
strings, the Rust AWS SDK does not::

    DeserializeError: only Infinity, -Infinity, NaN can represent a float as
    a string but found 2026-11-23T19:26:52.605168

This launcher wraps ``to_dict`` of ``moto.dms.models.FakeReplicationInstance``
and ``FakeReplicationTask`` (every DMS response that carries a date is built
from those two methods, see ``moto/dms/responses.py``) and converts the
affected fields to floats, then runs ``moto.server.main(argv)``.

Fields converted (moto 5.2.5):
  FakeReplicationInstance.to_dict: InstanceCreateTime
  FakeReplicationTask.to_dict:     ReplicationTaskCreationDate,
                                   ReplicationTaskStartDate,
                                   ReplicationTaskStats.{FreshStartDate, StartDate,
                                   StopDate, FullLoadStartDate, FullLoadFinishDate}
Any other string value under a key ending in "Date" or "Time" that parses as
an ISO date is converted as well (future-proofing); ``None`` stays ``null``.
moto's datetimes are naive UTC (``moto.core.utils.utcnow``), so naive values
are interpreted as UTC, never as local time.

The server only ever binds a loopback address: ``-H 127.0.0.1`` is added when
no host is given, and a non-loopback host is refused.

Usage (same arguments as moto_server):
    .tools/venv/bin/python scripts/moto_launcher.py -H 127.0.0.1 -p 5000
"""

from __future__ import annotations

import functools
import ipaddress
import sys
from datetime import datetime, timezone
from typing import Any

DATE_KEYS = {
    "InstanceCreateTime",
    "ReplicationTaskCreationDate",
    "ReplicationTaskStartDate",
    "FreshStartDate",
    "StartDate",
    "StopDate",
    "FullLoadStartDate",
    "FullLoadFinishDate",
}


def _iso_to_epoch(value: str) -> float | str:
    try:
        dt = datetime.fromisoformat(value)
    except ValueError:
        return value
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _convert(obj: Any) -> Any:
    """Recursively convert ISO date strings under date-like keys."""
    if isinstance(obj, dict):
        out = {}
        for key, val in obj.items():
            if isinstance(val, str) and (
                key in DATE_KEYS or key.endswith("Date") or key.endswith("Time")
            ):
                out[key] = _iso_to_epoch(val)
            else:
                out[key] = _convert(val)
        return out
    if isinstance(obj, list):
        return [_convert(v) for v in obj]
    return obj


def _wrap_to_dict(cls: type) -> None:
    original = cls.to_dict
    if getattr(original, "_dmsrs_epoch_patched", False):
        return

    @functools.wraps(original)
    def to_dict(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _convert(original(self, *args, **kwargs))

    to_dict._dmsrs_epoch_patched = True  # type: ignore[attr-defined]
    cls.to_dict = to_dict


def patch_dms() -> None:
    from moto.dms import models

    for name in ("FakeReplicationInstance", "FakeReplicationTask"):
        _wrap_to_dict(getattr(models, name))


def _loopback_argv(argv: list[str]) -> list[str]:
    host = None
    for i, arg in enumerate(argv):
        if arg in ("-H", "--host") and i + 1 < len(argv):
            host = argv[i + 1]
        elif arg.startswith("--host="):
            host = arg.split("=", 1)[1]
        elif arg.startswith("-H") and len(arg) > 2:
            host = arg[2:]
    if host is None:
        return ["-H", "127.0.0.1", *argv]
    ok = host == "localhost"
    if not ok:
        try:
            ok = ipaddress.ip_address(host).is_loopback
        except ValueError:
            ok = False
    if not ok:
        sys.exit(f"moto_launcher: refusing to bind non-loopback host {host!r}")
    return argv


def main(argv: list[str] | None = None) -> None:
    argv = _loopback_argv(list(sys.argv[1:] if argv is None else argv))
    patch_dms()
    from moto.server import main as moto_main

    moto_main(argv)


if __name__ == "__main__":
    main()
