#!/usr/bin/env python3
"""dms-server end to end, the way real AWS clients use it: boto3 and the aws CLI.

Against a running `dms-server`, a kinesis-local and a MariaDB server with binlog enabled:

1. creates a schema with two tables and three rows in the selected one (pymysql);
2. creates a Kinesis stream on kinesis-local (boto3);
3. aws CLI: creates a replication instance and polls it to `available`, creates a mariadb
   source endpoint (inline credentials) and a kinesis target endpoint (the stream's ARN,
   MessageFormat json), runs `test-connection` for both and polls `describe-connections`
   until `successful`;
4. boto3: creates a full-load-and-cdc task selecting one table, waits with the
   `replication_task_ready` waiter, starts it (`start-replication`) and waits for `running`
   (`replication_task_running`);
5. reads the stream (get_shard_iterator/get_records) until the full load's `load` records
   have arrived, then inserts, updates and deletes rows (pymysql) and reads the matching
   CDC records; checks `describe_table_statistics`;
6. faults as boto3 and the CLI surface them (ResourceNotFoundFault);
7. aws CLI: stops the task, boto3 waits with `replication_task_stopped`; deletes the task
   (`replication_task_deleted`), both endpoints (`endpoint_deleted`) and the instance
   (`replication_instance_deleted`).

Prints one JSON summary on stdout and exits 0; on any failure prints
`dms_clients: FAILED in step <name>: <why>` on stderr and exits 1.

Arguments (each also read from the environment variable in brackets):
  --dms-url URL        [DMS_URL]         the dms-server, e.g. http://127.0.0.1:4599
  --kinesis-url URL    [KINESIS_URL]     kinesis-local, e.g. http://127.0.0.1:4567
  --db-host HOST       [DB_HOST]         MariaDB host (default 127.0.0.1)
  --db-port PORT       [DB_PORT]         MariaDB port
  --db-user USER       [DB_USER]
  --db-password PW     [DB_PASSWORD]
  --aws PATH           [AWS_CLI]         the aws CLI (default: `aws` next to this python)
  --timeout SECONDS    [DMS_CLIENTS_TIMEOUT]  limit of every wait (default 30)

Only the standard library, boto3/botocore, pymysql and the aws CLI (a subprocess) are used.
"""

import argparse
import base64
import json
import os
import subprocess
import sys
import time
import traceback
import uuid

import boto3
import botocore.config
import botocore.exceptions
import pymysql

SCHEMA = "clients_db"
TABLE = "items"
OTHER_TABLE = "not_selected"
REGION_DEFAULT = "us-east-1"

# Rows present before the task starts (full load), then the CDC changes.
INITIAL_ROWS = [
    (1, "alpha", 10),
    (2, "beta", 20),
    (3, "gamma", 30),
]
INSERTED_ROWS = [
    (4, "delta", 40),
    (5, "epsilon", 50),
]
UPDATED_ROW = (1, "alpha", 11)  # qty 10 -> 11
DELETED_ROW = (2, "beta", 20)


class Failure(Exception):
    """A failed expectation: the message says what was expected and what came."""


def row_dict(row):
    return {"id": row[0], "name": row[1], "qty": row[2]}


class Steps:
    """Names the step that is running (for failure messages) and times each one."""

    def __init__(self):
        self.current = "start"
        self.durations_ms = {}
        self._t0 = None

    def __call__(self, name):
        self.current = name
        return self

    def __enter__(self):
        self._t0 = time.monotonic()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.durations_ms[self.current] = round((time.monotonic() - self._t0) * 1000)
        return False


def parse_args(argv):
    env = os.environ.get
    default_aws = os.path.join(os.path.dirname(sys.executable), "aws")
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dms-url", default=env("DMS_URL"))
    p.add_argument("--kinesis-url", default=env("KINESIS_URL"))
    p.add_argument("--db-host", default=env("DB_HOST", "127.0.0.1"))
    p.add_argument("--db-port", type=int, default=int(env("DB_PORT", "0")))
    p.add_argument("--db-user", default=env("DB_USER"))
    p.add_argument("--db-password", default=env("DB_PASSWORD"))
    p.add_argument("--aws", default=env("AWS_CLI", default_aws))
    p.add_argument("--timeout", type=float, default=float(env("DMS_CLIENTS_TIMEOUT", "30")))
    a = p.parse_args(argv)
    missing = [
        name
        for name, value in [
            ("--dms-url", a.dms_url),
            ("--kinesis-url", a.kinesis_url),
            ("--db-port", a.db_port),
            ("--db-user", a.db_user),
            ("--db-password", a.db_password),
        ]
        if not value
    ]
    if missing:
        p.error("missing " + ", ".join(missing))
    return a


class Clients:
    def __init__(self, args):
        self.args = args
        self.region = (
            os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or REGION_DEFAULT
        )
        cfg = botocore.config.Config(
            region_name=self.region,
            connect_timeout=5,
            read_timeout=20,
            retries={"mode": "standard", "max_attempts": 2},
        )
        session = boto3.session.Session(region_name=self.region)
        self.dms = session.client("dms", endpoint_url=args.dms_url, config=cfg)
        self.kinesis = session.client("kinesis", endpoint_url=args.kinesis_url, config=cfg)
        self.cli_calls = 0

    # ---- the aws CLI -----------------------------------------------------------------

    def cli(self, *args, expect_ok=True):
        """Runs `aws --endpoint-url DMS --region R --output json dms ARGS...`.

        Returns the parsed JSON output (None when empty); with expect_ok=False returns
        (exit code, stdout, stderr) whatever the outcome."""
        cmd = [
            self.args.aws,
            "--endpoint-url",
            self.args.dms_url,
            "--region",
            self.region,
            "--output",
            "json",
            "dms",
            *args,
        ]
        self.cli_calls += 1
        try:
            p = subprocess.run(
                cmd, capture_output=True, text=True, timeout=self.args.timeout, check=False
            )
        except FileNotFoundError as e:
            raise Failure(f"cannot run the aws CLI {self.args.aws!r}: {e}") from e
        except subprocess.TimeoutExpired as e:
            raise Failure(
                f"`aws dms {' '.join(args)}` did not finish in {self.args.timeout}s"
            ) from e
        if not expect_ok:
            return p.returncode, p.stdout, p.stderr
        if p.returncode != 0:
            raise Failure(
                f"`aws dms {' '.join(args)}` exited {p.returncode}\n"
                f"stdout: {p.stdout.strip()}\nstderr: {p.stderr.strip()}"
            )
        out = p.stdout.strip()
        if not out:
            return None
        try:
            return json.loads(out)
        except ValueError as e:
            raise Failure(f"`aws dms {' '.join(args)}` printed non-JSON output: {out!r}") from e

    # ---- waits -----------------------------------------------------------------------

    def poll(self, what, fn, done, failed=lambda v: None):
        """Calls fn() until done(value); failed(value) returns a reason to stop early."""
        deadline = time.monotonic() + self.args.timeout
        last = None
        while True:
            last = fn()
            if done(last):
                return last
            reason = failed(last)
            if reason:
                raise Failure(f"{what}: {reason}")
            if time.monotonic() > deadline:
                raise Failure(f"{what}: not reached within {self.args.timeout}s; last: {last!r}")
            time.sleep(0.2)

    def waiter(self, name, **kwargs):
        """A boto3 DMS waiter with a one-second delay and the script's time limit."""
        attempts = max(2, int(self.args.timeout))
        try:
            self.dms.get_waiter(name).wait(
                WaiterConfig={"Delay": 1, "MaxAttempts": attempts}, **kwargs
            )
        except botocore.exceptions.WaiterError as e:
            raise Failure(f"waiter {name}: {e} (last response: {e.last_response!r})") from e


def expect_client_error(what, fn, code, http_status=400):
    """fn() must raise botocore's ClientError with Error.Code == code."""
    try:
        result = fn()
    except botocore.exceptions.ClientError as e:
        got = e.response.get("Error", {}).get("Code")
        status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        message = e.response.get("Error", {}).get("Message")
        if got != code or status != http_status:
            raise Failure(
                f"{what}: expected ClientError {code} (HTTP {http_status}), got {got} "
                f"(HTTP {status}): {e.response!r}"
            ) from e
        if not message:
            raise Failure(f"{what}: the {code} fault has no message: {e.response!r}") from e
        return {"code": got, "http_status": status, "message": message}
    raise Failure(f"{what}: expected ClientError {code}, but the call succeeded: {result!r}")


# ---- MariaDB ------------------------------------------------------------------------------


def db_connect(args):
    return pymysql.connect(
        host=args.db_host,
        port=args.db_port,
        user=args.db_user,
        password=args.db_password,
        autocommit=True,
        connect_timeout=10,
        charset="utf8mb4",
    )


def db_prepare(args):
    with db_connect(args) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {SCHEMA}")
        cur.execute(f"CREATE DATABASE {SCHEMA}")
        cur.execute(
            f"CREATE TABLE {SCHEMA}.{TABLE} (id INT NOT NULL PRIMARY KEY, "
            "name VARCHAR(64) NOT NULL, qty INT NOT NULL)"
        )
        cur.execute(
            f"CREATE TABLE {SCHEMA}.{OTHER_TABLE} (id INT NOT NULL PRIMARY KEY, note VARCHAR(32))"
        )
        cur.executemany(f"INSERT INTO {SCHEMA}.{TABLE} VALUES (%s, %s, %s)", INITIAL_ROWS)
        cur.execute(f"INSERT INTO {SCHEMA}.{OTHER_TABLE} VALUES (1, 'not replicated')")


def db_changes(args):
    with db_connect(args) as conn, conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {SCHEMA}.{TABLE} VALUES (%s, %s, %s)", INSERTED_ROWS)
        cur.execute(
            f"UPDATE {SCHEMA}.{TABLE} SET qty = %s WHERE id = %s", (UPDATED_ROW[2], UPDATED_ROW[0])
        )
        cur.execute(f"DELETE FROM {SCHEMA}.{TABLE} WHERE id = %s", (DELETED_ROW[0],))
        # A change outside the table mappings: must not reach the stream.
        cur.execute(f"INSERT INTO {SCHEMA}.{OTHER_TABLE} VALUES (2, 'not replicated either')")


# ---- Kinesis ------------------------------------------------------------------------------


class StreamReader:
    """Reads the one shard of a stream from TRIM_HORIZON, keeping its position."""

    def __init__(self, kinesis, stream_name):
        self.kinesis = kinesis
        self.stream_name = stream_name
        shards = kinesis.list_shards(StreamName=stream_name)["Shards"]
        if len(shards) != 1:
            raise Failure(f"stream {stream_name} has {len(shards)} shards, expected 1")
        self.iterator = kinesis.get_shard_iterator(
            StreamName=stream_name,
            ShardId=shards[0]["ShardId"],
            ShardIteratorType="TRIM_HORIZON",
        )["ShardIterator"]
        self.records = []  # decoded DMS records, in stream order
        self.partition_keys = []

    def read_available(self):
        """Reads until the shard has nothing more right now; returns the new records."""
        new = []
        for _ in range(100):
            page = self.kinesis.get_records(ShardIterator=self.iterator, Limit=1000)
            self.iterator = page["NextShardIterator"]
            for r in page["Records"]:
                data = r["Data"]
                if isinstance(data, str):  # botocore decodes blobs; be lenient anyway
                    data = base64.b64decode(data)
                try:
                    rec = json.loads(data.decode("utf-8"))
                except ValueError as e:
                    raise Failure(f"a Kinesis record is not JSON: {data[:200]!r}") from e
                check_record_shape(rec)
                new.append(rec)
                self.partition_keys.append(r.get("PartitionKey"))
            if not page["Records"]:
                break
        self.records.extend(new)
        return new

    def wait_for(self, what, pred, timeout):
        """Reads until pred(all records so far) is true."""
        deadline = time.monotonic() + timeout
        while True:
            self.read_available()
            if pred(self.records):
                return
            if time.monotonic() > deadline:
                raise Failure(
                    f"{what}: not in the stream within {timeout}s; the stream holds "
                    f"{len(self.records)} records: {summarize(self.records)}"
                )
            time.sleep(0.2)


def check_record_shape(rec):
    if not isinstance(rec, dict) or not isinstance(rec.get("metadata"), dict):
        raise Failure(f"a Kinesis record is not a DMS record (no metadata object): {rec!r}")
    md = rec["metadata"]
    for key in ("timestamp", "record-type", "operation", "partition-key-type"):
        if key not in md:
            raise Failure(f"a DMS record's metadata lacks {key!r}: {rec!r}")
    if md["record-type"] == "data" and not isinstance(rec.get("data"), dict):
        raise Failure(f"a DMS data record has no data object: {rec!r}")


def summarize(records):
    return [
        tuple(r["metadata"].get(k) for k in ("record-type", "operation", "table-name"))
        for r in records
    ]


def of_table(records, op):
    return [
        r
        for r in records
        if r["metadata"]["record-type"] == "data"
        and r["metadata"]["operation"] == op
        and r["metadata"].get("schema-name") == SCHEMA
        and r["metadata"].get("table-name") == TABLE
    ]


# ---- the flow -----------------------------------------------------------------------------


def run(args, steps):
    c = Clients(args)
    suffix = uuid.uuid4().hex[:8]
    summary = {"region": c.region, "schema": SCHEMA, "table": TABLE}

    with steps("mariadb: create schema and rows"):
        db_prepare(args)

    with steps("kinesis: create stream"):
        stream_name = f"dms-clients-{suffix}"
        c.kinesis.create_stream(StreamName=stream_name, ShardCount=1)
        c.kinesis.get_waiter("stream_exists").wait(
            StreamName=stream_name, WaiterConfig={"Delay": 1, "MaxAttempts": int(args.timeout)}
        )
        stream_arn = c.kinesis.describe_stream_summary(StreamName=stream_name)[
            "StreamDescriptionSummary"
        ]["StreamARN"]
        summary["stream_arn"] = stream_arn

    with steps("cli: describe-endpoint-types"):
        types = c.cli(
            "describe-endpoint-types", "--filters", "Name=engine-name,Values=mariadb,kinesis"
        )
        pairs = {
            (t.get("EngineName"), (t.get("EndpointType") or "").lower())
            for t in types.get("SupportedEndpointTypes", [])
        }
        if not {("mariadb", "source"), ("kinesis", "target")} <= pairs:
            raise Failure(
                f"describe-endpoint-types lacks mariadb source or kinesis target: {types!r}"
            )

    with steps("cli: create-replication-instance"):
        out = c.cli(
            "create-replication-instance",
            "--replication-instance-identifier",
            f"clients-ri-{suffix}",
            "--replication-instance-class",
            "dms.t3.micro",
            "--allocated-storage",
            "5",
            "--no-publicly-accessible",
            "--tags",
            "Key=purpose,Value=dms-clients",
        )
        ri = out["ReplicationInstance"]
        ri_arn = ri["ReplicationInstanceArn"]
        summary["replication_instance_arn"] = ri_arn

    with steps("cli: wait for the replication instance"):
        statuses = []

        def ri_status():
            d = c.cli(
                "describe-replication-instances",
                "--filters",
                f"Name=replication-instance-arn,Values={ri_arn}",
            )
            insts = d["ReplicationInstances"]
            if len(insts) != 1:
                raise Failure(
                    f"describe-replication-instances by ARN gave {len(insts)} instances: {d!r}"
                )
            s = insts[0]["ReplicationInstanceStatus"]
            if not statuses or statuses[-1] != s:
                statuses.append(s)
            return s

        c.poll(
            "replication instance available",
            ri_status,
            lambda s: s == "available",
            lambda s: f"status {s}" if s in ("deleting", "failed") else None,
        )
        summary["instance_statuses"] = statuses

    with steps("cli: create-endpoint (mariadb source)"):
        out = c.cli(
            "create-endpoint",
            "--endpoint-identifier",
            f"clients-src-{suffix}",
            "--endpoint-type",
            "source",
            "--engine-name",
            "mariadb",
            "--server-name",
            args.db_host,
            "--port",
            str(args.db_port),
            "--username",
            args.db_user,
            "--password",
            args.db_password,
        )
        src = out["Endpoint"]
        src_arn = src["EndpointArn"]
        if src.get("EngineName") != "mariadb" or src.get("EndpointType", "").lower() != "source":
            raise Failure(f"create-endpoint answered an unexpected endpoint: {src!r}")
        if "Password" in src or args.db_password in json.dumps(out):
            raise Failure(f"create-endpoint echoes the password: {out!r}")

    with steps("cli: create-endpoint (kinesis target)"):
        kinesis_settings = json.dumps(
            {
                "StreamArn": stream_arn,
                "MessageFormat": "json",
                "ServiceAccessRoleArn": "arn:aws:iam::000000000000:role/dms-clients-kinesis",
            }
        )
        out = c.cli(
            "create-endpoint",
            "--endpoint-identifier",
            f"clients-tgt-{suffix}",
            "--endpoint-type",
            "target",
            "--engine-name",
            "kinesis",
            "--kinesis-settings",
            kinesis_settings,
        )
        tgt = out["Endpoint"]
        tgt_arn = tgt["EndpointArn"]
        got = tgt.get("KinesisSettings", {})
        if got.get("StreamArn") != stream_arn or got.get("MessageFormat") != "json":
            raise Failure(f"create-endpoint's KinesisSettings differ from the request: {tgt!r}")
        summary["endpoint_arns"] = {"source": src_arn, "target": tgt_arn}

    with steps("cli: test-connection and describe-connections"):
        connections = {}
        for name, ep_arn in (("source", src_arn), ("target", tgt_arn)):
            out = c.cli(
                "test-connection", "--replication-instance-arn", ri_arn, "--endpoint-arn", ep_arn
            )
            first = out["Connection"]["Status"]
            seen = [first]

            def conn_status(ep_arn=ep_arn, seen=seen):
                d = c.cli(
                    "describe-connections",
                    "--filters",
                    f"Name=endpoint-arn,Values={ep_arn}",
                    f"Name=replication-instance-arn,Values={ri_arn}",
                )
                conns = d["Connections"]
                if len(conns) != 1:
                    raise Failure(f"describe-connections gave {len(conns)} connections: {d!r}")
                if seen[-1] != conns[0]["Status"]:
                    seen.append(conns[0]["Status"])
                return conns[0]

            c.poll(
                f"{name} connection successful",
                conn_status,
                lambda cn: cn["Status"] == "successful",
                lambda cn: (
                    f"failed: {cn.get('LastFailureMessage')}" if cn["Status"] == "failed" else None
                ),
            )
            connections[name] = seen
        summary["connection_statuses"] = connections

    with steps("boto3: create_replication_task"):
        mappings = {
            "rules": [
                {
                    "rule-type": "selection",
                    "rule-id": "1",
                    "rule-name": "1",
                    "object-locator": {"schema-name": SCHEMA, "table-name": TABLE},
                    "rule-action": "include",
                }
            ]
        }
        task_id = f"clients-task-{suffix}"
        out = c.dms.create_replication_task(
            ReplicationTaskIdentifier=task_id,
            SourceEndpointArn=src_arn,
            TargetEndpointArn=tgt_arn,
            ReplicationInstanceArn=ri_arn,
            MigrationType="full-load-and-cdc",
            TableMappings=json.dumps(mappings),
            Tags=[{"Key": "purpose", "Value": "dms-clients"}],
        )
        task = out["ReplicationTask"]
        task_arn = task["ReplicationTaskArn"]
        if (task.get("ReplicationTaskIdentifier"), task.get("MigrationType")) != (
            task_id,
            "full-load-and-cdc",
        ):
            raise Failure(f"create_replication_task answered an unexpected task: {task!r}")
        summary["task_arn"] = task_arn
        summary["task_status_on_create"] = task.get("Status")
        task_filter = [{"Name": "replication-task-arn", "Values": [task_arn]}]

    with steps("boto3: list_tags_for_resource"):
        tags = c.dms.list_tags_for_resource(ResourceArn=task_arn)["TagList"]
        if {"Key": "purpose", "Value": "dms-clients"} not in [
            {"Key": t.get("Key"), "Value": t.get("Value")} for t in tags
        ]:
            raise Failure(f"list_tags_for_resource lacks the task's tag: {tags!r}")

    with steps("boto3: waiter replication_task_ready"):
        c.waiter("replication_task_ready", Filters=task_filter)

    with steps("boto3: start_replication_task"):
        reader = StreamReader(c.kinesis, stream_name)
        out = c.dms.start_replication_task(
            ReplicationTaskArn=task_arn, StartReplicationTaskType="start-replication"
        )
        summary["task_status_on_start"] = out["ReplicationTask"].get("Status")

    with steps("boto3: waiter replication_task_running"):
        c.waiter("replication_task_running", Filters=task_filter)

    with steps("kinesis: full-load records"):
        want_load = [row_dict(r) for r in INITIAL_ROWS]
        reader.wait_for(
            f"{len(INITIAL_ROWS)} load records of {SCHEMA}.{TABLE}",
            lambda recs: len(of_table(recs, "load")) >= len(INITIAL_ROWS),
            args.timeout,
        )
        loads = of_table(reader.records, "load")
        got_load = sorted((r["data"] for r in loads), key=lambda d: d.get("id"))
        if got_load != want_load:
            raise Failure(f"load records' data: expected {want_load!r}, got {got_load!r}")

    with steps("boto3: describe_table_statistics after the full load"):
        def full_load_stats():
            s = c.dms.describe_table_statistics(ReplicationTaskArn=task_arn)["TableStatistics"]
            return s

        stats = c.poll(
            "table statistics: full load completed",
            full_load_stats,
            lambda s: len(s) == 1
            and s[0].get("FullLoadRows") == len(INITIAL_ROWS)
            and s[0].get("TableState") == "Table completed",
        )
        summary["table_statistics_after_full_load"] = stats

    with steps("mariadb: insert, update, delete"):
        db_changes(args)

    with steps("kinesis: CDC records"):
        reader.wait_for(
            "the insert, update and delete records",
            lambda recs: len(of_table(recs, "insert")) >= len(INSERTED_ROWS)
            and len(of_table(recs, "update")) >= 1
            and len(of_table(recs, "delete")) >= 1,
            args.timeout,
        )
        # Give a late duplicate or a stray record (e.g. of the unselected table) a moment.
        time.sleep(0.5)
        reader.read_available()
        inserts = [r["data"] for r in of_table(reader.records, "insert")]
        updates = [r["data"] for r in of_table(reader.records, "update")]
        deletes = [r["data"] for r in of_table(reader.records, "delete")]
        want = {
            "insert": [row_dict(r) for r in INSERTED_ROWS],
            "update": [row_dict(UPDATED_ROW)],
            "delete": [row_dict(DELETED_ROW)],
        }
        got = {"insert": inserts, "update": updates, "delete": deletes}
        if got != want:
            raise Failure(f"CDC records' data: expected {want!r}, got {got!r}")
        for r in of_table(reader.records, "insert") + of_table(reader.records, "update") + of_table(
            reader.records, "delete"
        ):
            if not r["metadata"].get("transaction-id"):
                raise Failure(f"a CDC record has no transaction-id: {r!r}")
        # DMS's own control tables (awsdms_apply_exceptions, schema "") announce themselves
        # with control records; anything else must be of the selected table.
        strays = [
            r
            for r in reader.records
            if not (r["metadata"].get("table-name") or "").startswith("awsdms_")
            and (
                r["metadata"].get("table-name") not in (None, TABLE)
                or r["metadata"].get("schema-name") not in (None, SCHEMA)
            )
        ]
        if strays:
            raise Failure(f"records of tables outside the mappings reached the stream: {strays!r}")
        # Order: the full load's records all come before the first CDC data record.
        ops = [
            r["metadata"]["operation"]
            for r in reader.records
            if r["metadata"]["record-type"] == "data"
        ]
        last_load = max(i for i, op in enumerate(ops) if op == "load")
        first_cdc = min(i for i, op in enumerate(ops) if op != "load")
        if last_load > first_cdc:
            raise Failure(f"CDC data records came before the end of the full load: {ops!r}")
        if not all(reader.partition_keys):
            raise Failure(f"records with an empty partition key: {reader.partition_keys!r}")

    with steps("boto3: describe_table_statistics after CDC"):
        def cdc_stats():
            return c.dms.describe_table_statistics(
                ReplicationTaskArn=task_arn,
                Filters=[{"Name": "table-name", "Values": [TABLE]}],
            )["TableStatistics"]

        want_counts = {
            "FullLoadRows": len(INITIAL_ROWS),
            "Inserts": len(INSERTED_ROWS),
            "Updates": 1,
            "Deletes": 1,
        }
        stats = c.poll(
            f"table statistics {want_counts}",
            cdc_stats,
            lambda s: len(s) == 1
            and s[0].get("SchemaName") == SCHEMA
            and all(s[0].get(k) == v for k, v in want_counts.items()),
        )
        summary["table_statistics"] = {
            k: stats[0].get(k)
            for k in (
                "SchemaName",
                "TableName",
                "FullLoadRows",
                "Inserts",
                "Updates",
                "Deletes",
                "Ddls",
                "TableState",
            )
        }

    with steps("faults"):
        faults = {}
        unknown_arn = f"arn:aws:dms:{c.region}:000000000000:task:NOSUCHTASK{suffix.upper()}"
        faults["start_replication_task(unknown arn)"] = expect_client_error(
            "start_replication_task on an unknown ARN",
            lambda: c.dms.start_replication_task(
                ReplicationTaskArn=unknown_arn, StartReplicationTaskType="start-replication"
            ),
            "ResourceNotFoundFault",
        )
        faults["describe_replication_tasks(no match)"] = expect_client_error(
            "describe_replication_tasks with a filter matching nothing",
            lambda: c.dms.describe_replication_tasks(
                Filters=[{"Name": "replication-task-id", "Values": [f"no-such-task-{suffix}"]}]
            ),
            "ResourceNotFoundFault",
        )
        code, out, err = c.cli(
            "describe-endpoints",
            "--filters",
            f"Name=endpoint-id,Values=no-such-endpoint-{suffix}",
            expect_ok=False,
        )
        if code == 0 or "ResourceNotFoundFault" not in err:
            raise Failure(
                "`aws dms describe-endpoints` with a filter matching nothing: expected a "
                f"ResourceNotFoundFault error, got exit {code}\nstdout: {out}\nstderr: {err}"
            )
        faults["cli describe-endpoints(no match)"] = {"exit": code, "stderr": err.strip()}
        summary["faults"] = faults

    with steps("cli: stop-replication-task"):
        out = c.cli("stop-replication-task", "--replication-task-arn", task_arn)
        summary["task_status_on_stop"] = out["ReplicationTask"].get("Status")

    with steps("boto3: waiter replication_task_stopped"):
        c.waiter("replication_task_stopped", Filters=task_filter)
        t = c.dms.describe_replication_tasks(Filters=task_filter)["ReplicationTasks"][0]
        summary["stop_reason"] = t.get("StopReason")
        summary["task_stats"] = t.get("ReplicationTaskStats")

    with steps("boto3: delete_replication_task"):
        out = c.dms.delete_replication_task(ReplicationTaskArn=task_arn)
        summary["task_status_on_delete"] = out["ReplicationTask"].get("Status")
        c.waiter("replication_task_deleted", Filters=task_filter)

    with steps("delete endpoints"):
        c.cli("delete-endpoint", "--endpoint-arn", src_arn)
        c.dms.delete_endpoint(EndpointArn=tgt_arn)
        for ep_arn in (src_arn, tgt_arn):
            c.waiter("endpoint_deleted", Filters=[{"Name": "endpoint-arn", "Values": [ep_arn]}])

    with steps("delete replication instance"):
        c.cli("delete-replication-instance", "--replication-instance-arn", ri_arn)
        c.waiter(
            "replication_instance_deleted",
            Filters=[{"Name": "replication-instance-arn", "Values": [ri_arn]}],
        )

    with steps("kinesis: delete stream"):
        c.kinesis.delete_stream(StreamName=stream_name)

    counts = {}
    for r in reader.records:
        key = f"{r['metadata']['record-type']}:{r['metadata']['operation']}"
        counts[key] = counts.get(key, 0) + 1
    samples = {}
    for r, key in zip(reader.records, reader.partition_keys):
        kind = f"{r['metadata']['record-type']}:{r['metadata']['operation']}"
        samples.setdefault(kind, {"partition_key": key, "record": r})
    summary["records"] = {
        "total": len(reader.records),
        "by_type": counts,
        "samples": samples,
        "sequence": [f"{t}:{o}" for t, o, _ in summarize(reader.records)],
    }
    summary["aws_cli_calls"] = c.cli_calls
    return summary


def main(argv):
    args = parse_args(argv)
    steps = Steps()
    t0 = time.monotonic()
    try:
        summary = run(args, steps)
    except Failure as e:
        print(f"dms_clients: FAILED in step {steps.current!r}: {e}", file=sys.stderr)
        return 1
    except botocore.exceptions.ClientError as e:
        print(
            f"dms_clients: FAILED in step {steps.current!r}: unexpected AWS error "
            f"{e.response.get('Error')!r} "
            f"(HTTP {e.response.get('ResponseMetadata', {}).get('HTTPStatusCode')}): {e}",
            file=sys.stderr,
        )
        return 1
    except Exception as e:  # noqa: BLE001 - report anything with the step's name
        print(
            f"dms_clients: FAILED in step {steps.current!r}: {type(e).__name__}: {e}\n"
            f"{traceback.format_exc()}",
            file=sys.stderr,
        )
        return 1
    summary["ok"] = True
    summary["durations_ms"] = steps.durations_ms
    summary["total_ms"] = round((time.monotonic() - t0) * 1000)
    print(json.dumps(summary, indent=2, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
