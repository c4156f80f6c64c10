//! Decode and encode throughput on a realistic mix of DMS records, side by side with
//! parsing the same bytes into `serde_json::Value` (the untyped baseline).
//!
//! Run: `cargo bench -p dmsrs-codec --bench codec` (results in docs/performance.md).

use criterion::{BenchmarkId, Criterion, Throughput, black_box, criterion_group, criterion_main};
use dmsrs_codec::{
    ColumnDef, Control, Fields, MessageFormat, Metadata, Number, Operation, PartitionKeyType,
    Record, RecordType, TableDef, Value, decode, encode_into, render,
};
use std::time::Duration;

/// The mix: per 100 records, 70 full-load rows (sysbench `sbtest` shape and the seed's
/// `accounts` shape), 25 CDC changes (insert/update with before-image/delete, with
/// transaction details) and 5 control records (create-table with a table-def, drop-table).
fn mix() -> Vec<Record> {
    let o = render::RenderOptions::default();
    let ts = "2024-05-23T19:17:33.130214Z";
    let mut out = Vec::new();
    for i in 0..1000i64 {
        let kind = i % 100;
        let r = if kind < 50 {
            let mut m = Metadata::new(ts, RecordType::Data, Operation::Load, "sbtest", "sbtest1");
            m.partition_key_type = Some(PartitionKeyType::PrimaryKey);
            m.partition_key_value = Some(format!("sbtest.sbtest1.{i}"));
            let data: Fields = [
                ("id", render::integer(i as i128, &o)),
                ("k", render::integer((i * 7919 % 100_000) as i128, &o)),
                ("c", render::text(format!("{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}", i, i + 1, i + 2, i + 3, i + 4, i + 5, i + 6, i + 7, i + 8, i + 9))),
                ("pad", render::text(format!("{:0>11}-{:0>11}-{:0>11}-{:0>11}-{:0>11}", i, i * 3, i * 5, i * 7, i * 11))),
            ]
            .into_iter()
            .collect();
            Record::data(data, m)
        } else if kind < 70 {
            let mut m = Metadata::new(
                ts,
                RecordType::Data,
                Operation::Load,
                "dms_sample",
                "accounts",
            );
            m.partition_key_type = Some(PartitionKeyType::PrimaryKey);
            m.partition_key_value = Some(format!("dms_sample.accounts.{i}"));
            let data: Fields = [
                ("id", render::integer(i as i128, &o)),
                ("name", render::text("Alice Ångström")),
                ("age", render::integer(30, &o)),
                ("birth_date", render::date(1991, 5, 21)),
                ("account_balance", render::decimal("1500.25")),
                ("is_active", render::integer(1, &o)),
                ("signup_time", render::datetime(2021, 1, 8, 9, 0, 0, 0)),
                (
                    "last_login",
                    render::datetime(2021, 3, 10, 8, 0, 0, 123_456),
                ),
                (
                    "bio",
                    render::text("Bio of Alice,\n with a \"quote\" and a tab\t."),
                ),
                (
                    "profile_picture",
                    render::binary(&[0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], &o),
                ),
                ("favorite_color", render::text("red")),
                ("height", render::float(1.7)),
                ("weight", render::double(60.5)),
            ]
            .into_iter()
            .collect();
            Record::data(data, m)
        } else if kind < 95 {
            let op =
                [Operation::Insert, Operation::Update, Operation::Delete][(i % 3) as usize].clone();
            let mut m = Metadata::new(ts, RecordType::Data, op.clone(), "dms_sample", "authors");
            m.partition_key_type = Some(PartitionKeyType::SchemaTable);
            m.transaction_id = Some(Number::from(1_000_000 + i));
            m.transaction_record_id = Some(Number::from(1i64));
            m.prev_transaction_id = Some(Number::from(999_999 + i));
            m.prev_transaction_record_id = Some(Number::from(3i64));
            m.commit_timestamp = Some("2024-05-23T19:17:33.000000Z".into());
            m.stream_position = Some(format!(
                "mysql-bin.000003:{}:0:{}:{}:mysql-bin.000003:{}",
                i * 400,
                i * 400 + 380,
                1_000_000 + i,
                i * 400
            ));
            let row: Fields = [
                ("author_id", render::integer(i as i128, &o)),
                ("first_name", render::text("John")),
                ("last_name", render::text("Doe")),
                ("date_of_birth", render::date(1980, 1, 1)),
                ("nationality", render::text("American")),
                ("biography", render::text("Biography of John Doe.")),
                ("email", render::text("john.doe@example.com")),
                ("phone_number", render::text("123-456-7890")),
                ("active", render::integer(1, &o)),
                ("created_at", render::datetime(2024, 5, 23, 19, 17, 30, 0)),
            ]
            .into_iter()
            .collect();
            let mut r = Record::data(row.clone(), m);
            if op == Operation::Update {
                r.before_image = Some(row);
            }
            r
        } else {
            let op = if kind == 99 {
                Operation::DropTable
            } else {
                Operation::CreateTable
            };
            let mut m = Metadata::new(ts, RecordType::Control, op.clone(), "dms_sample", "novels");
            m.partition_key_type = Some(PartitionKeyType::TaskId);
            m.partition_key_value = Some("K55IUCGBASJS5VHZJIINA45FII".into());
            let control = if op == Operation::DropTable {
                Control::default()
            } else {
                let columns = [
                    "novel_id",
                    "title",
                    "author_id",
                    "publish_date",
                    "isbn",
                    "genre",
                    "page_count",
                    "publisher",
                    "language",
                    "available_copies",
                    "total_copies",
                    "created_at",
                ]
                .iter()
                .map(|c| {
                    (
                        c.to_string(),
                        ColumnDef {
                            data_type: "WSTRING".into(),
                            length: Some(255),
                            nullable: Some(true),
                            ..Default::default()
                        },
                    )
                })
                .collect();
                Control {
                    table_def: Some(TableDef {
                        columns,
                        primary_key: Some(vec!["novel_id".into()]),
                        ..Default::default()
                    }),
                    ..Default::default()
                }
            };
            Record::control(Some(control), m)
        };
        out.push(r);
    }
    // Keep Value in use for readers of the bench.
    let _ = Value::Null;
    out
}

fn bench(c: &mut Criterion) {
    let records = mix();
    for format in [MessageFormat::Json, MessageFormat::JsonUnformatted] {
        let docs: Vec<Vec<u8>> = records
            .iter()
            .map(|r| {
                let mut b = Vec::new();
                encode_into(r, format, &mut b);
                b
            })
            .collect();
        let bytes: usize = docs.iter().map(Vec::len).sum();

        let mut g = c.benchmark_group(format!("decode/{}", format.as_str()));
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(
            BenchmarkId::new("dmsrs_codec::decode (typed)", records.len()),
            |b| {
                b.iter(|| {
                    for d in &docs {
                        black_box(decode(black_box(d)).ok());
                    }
                })
            },
        );
        g.bench_function(
            BenchmarkId::new("serde_json::Value (untyped)", records.len()),
            |b| {
                b.iter(|| {
                    for d in &docs {
                        black_box(serde_json::from_slice::<serde_json::Value>(black_box(d)).ok());
                    }
                })
            },
        );
        g.finish();

        let values: Vec<serde_json::Value> = docs
            .iter()
            .filter_map(|d| serde_json::from_slice(d).ok())
            .collect();
        let mut g = c.benchmark_group(format!("encode/{}", format.as_str()));
        g.throughput(Throughput::Bytes(bytes as u64));
        g.bench_function(
            BenchmarkId::new("dmsrs_codec::encode (typed)", records.len()),
            |b| {
                let mut buf = Vec::with_capacity(1024);
                b.iter(|| {
                    for r in &records {
                        buf.clear();
                        encode_into(black_box(r), format, &mut buf);
                        black_box(&buf);
                    }
                })
            },
        );
        g.bench_function(
            BenchmarkId::new("serde_json::to_writer (untyped)", records.len()),
            |b| {
                let mut buf = Vec::with_capacity(1024);
                b.iter(|| {
                    for v in &values {
                        buf.clear();
                        if format == MessageFormat::Json {
                            let _ = serde_json::to_writer_pretty(&mut buf, black_box(v));
                        } else {
                            let _ = serde_json::to_writer(&mut buf, black_box(v));
                        }
                        black_box(&buf);
                    }
                })
            },
        );
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
