#!/usr/bin/env python3
"""Reads a binlog range with python-mysql-replication, for the CDC benchmark.

Used by `cargo bench -p dmsrs-engine --bench cdc -- throughput` as the baseline the
engine is compared with (run it with the venv from scripts/setup.sh, which pins
mysql-replication and pymysql).

Streams [--log-file:--log-pos, --end-file:--end-pos) with
BinLogStreamReader(resume_stream=True, blocking=False, only_events=[Write, Update,
DeleteRowsEvent]) and, for every row, builds a dict of its values (`row["values"]`, or
`row["before_values"]` and `row["after_values"]` for updates), the python equivalent of the
engine turning each row change into a record. Prints one JSON line:

    {"rows": N, "events": E, "seconds": S, "rows_per_sec": R, "inserts": ..., ...}

`seconds` is measured from just before the first event is requested to the end of the
range (interpreter start-up and imports are not counted).
"""

import argparse
import json
import sys
import time

from pymysqlreplication import BinLogStreamReader
from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent


def binlog_index(name):
    """`mysql-bin.000012` -> 12 (files of one server sort by their sequence number)."""
    try:
        return int(name.rsplit(".", 1)[1])
    except (IndexError, ValueError):
        return 0


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=3306)
    p.add_argument("--user", required=True)
    p.add_argument("--password", default="")
    p.add_argument("--log-file", required=True, help="binlog file to start in")
    p.add_argument("--log-pos", type=int, required=True, help="position to start at")
    p.add_argument("--end-file", required=True, help="binlog file of the end position")
    p.add_argument("--end-pos", type=int, required=True, help="stop once this position is reached")
    p.add_argument("--server-id", type=int, default=0x6d000001, help="replica server_id to connect with")
    args = p.parse_args()

    settings = {"host": args.host, "port": args.port, "user": args.user, "passwd": args.password}
    end = (binlog_index(args.end_file), args.end_pos)

    counts = {"inserts": 0, "updates": 0, "deletes": 0}
    rows = 0
    events = 0
    checksum = 0
    start = time.perf_counter()
    stream = BinLogStreamReader(
        connection_settings=settings,
        server_id=args.server_id,
        resume_stream=True,
        blocking=False,
        log_file=args.log_file,
        log_pos=args.log_pos,
        only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent],
    )
    try:
        for ev in stream:
            events += 1
            if isinstance(ev, UpdateRowsEvent):
                for row in ev.rows:
                    before = dict(row["before_values"])
                    after = dict(row["after_values"])
                    checksum += len(before) + len(after)
                    rows += 1
                counts["updates"] += len(ev.rows)
            else:
                for row in ev.rows:
                    values = dict(row["values"])
                    checksum += len(values)
                    rows += 1
                counts["inserts" if isinstance(ev, WriteRowsEvent) else "deletes"] += len(ev.rows)
            # The stream's position is the end of the event just read.
            if (binlog_index(stream.log_file), stream.log_pos) >= end:
                break
    finally:
        stream.close()
    seconds = time.perf_counter() - start
    out = {
        "rows": rows,
        "events": events,
        "seconds": seconds,
        "rows_per_sec": rows / seconds if seconds > 0 else 0.0,
        "values": checksum,
        **counts,
    }
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
