//! `scenario decode`: DMS records in, one compact JSON line (or a summary table) out.

use dmsrs_codec::{
    CodecError, DecodeError, DecodeOptions, Fields, KinesisMessage, Messages, Value, write_compact,
};
use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::path::PathBuf;

/// Arguments of `scenario decode`.
#[derive(Debug, clap::Args)]
#[command(after_help = "\
Examples:
  aws kinesis get-records --shard-iterator \"$IT\" | scenario decode
  scenario decode --input records.ndjson --summary
  scenario decode --input dump.json --keep-going --before-image-field BI")]
pub struct DecodeArgs {
    /// Read from this file instead of standard input.
    #[arg(long, short = 'i', value_name = "FILE")]
    pub input: Option<PathBuf>,
    /// Print a table of record counts per table and operation instead of the records.
    #[arg(long)]
    pub summary: bool,
    /// Skip malformed records (reported on stderr) instead of stopping at the first one.
    #[arg(long)]
    pub keep_going: bool,
    /// Name of the before-image key (the task's BeforeImageSettings.FieldName).
    #[arg(long, value_name = "NAME", default_value = dmsrs_codec::DEFAULT_BEFORE_IMAGE_FIELD)]
    pub before_image_field: String,
}

/// What went wrong, for the exit status.
#[derive(Debug, thiserror::Error)]
pub enum DecodeCmdError {
    /// Input could not be read.
    #[error("cannot read {what}: {source}")]
    Read {
        /// File name or "standard input".
        what: String,
        /// The I/O error.
        source: io::Error,
    },
    /// A malformed record stopped decoding.
    #[error("{0}\n(the records before it were printed; use --keep-going to skip bad records)")]
    Bad(DecodeError),
    /// Output failed (for example a closed pipe).
    #[error("cannot write output: {0}")]
    Write(#[from] io::Error),
}

/// Runs the subcommand, writing to `out` and reporting skipped records to `err`.
pub fn run(
    args: &DecodeArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<(), DecodeCmdError> {
    let (bytes, what) = match &args.input {
        Some(p) => (
            std::fs::read(p).map_err(|source| DecodeCmdError::Read {
                what: p.display().to_string(),
                source,
            })?,
            p.display().to_string(),
        ),
        None => {
            let mut b = Vec::new();
            io::stdin()
                .read_to_end(&mut b)
                .map_err(|source| DecodeCmdError::Read {
                    what: "standard input".into(),
                    source,
                })?;
            (b, "standard input".to_owned())
        }
    };
    tracing::debug!(bytes = bytes.len(), input = %what, "decoding");
    let opts = DecodeOptions {
        before_image_field: args.before_image_field.clone(),
    };

    // Invalid UTF-8: decode the valid prefix, then report the bad bytes at the record that
    // holds them.
    let (text, bad_utf8) = match std::str::from_utf8(&bytes) {
        Ok(t) => (t, None),
        Err(e) => {
            let at = e.valid_up_to();
            (
                std::str::from_utf8(&bytes[..at]).unwrap_or_default(),
                Some(at),
            )
        }
    };
    let mut items: Vec<Result<KinesisMessage, DecodeError>> = Messages::new(text, opts).collect();
    if let Some(at) = bad_utf8 {
        let utf8 = CodecError::InvalidUtf8 { offset: at };
        match items.last_mut() {
            Some(Err(e)) => e.source = utf8,
            _ => items.push(Err(DecodeError {
                index: items.len() + 1,
                offset: at,
                source: utf8,
            })),
        }
    }

    let mut summary: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    let mut skipped = 0usize;
    let mut line = Vec::with_capacity(1024);
    for item in items {
        match item {
            Ok(m) => {
                if args.summary {
                    let md = &m.record.metadata;
                    *summary
                        .entry((
                            md.schema_name.clone(),
                            md.table_name.clone(),
                            md.operation.to_string(),
                        ))
                        .or_default() += 1;
                } else {
                    line.clear();
                    write_compact(&summary_line(&m), &mut line);
                    line.push(b'\n');
                    out.write_all(&line)?;
                }
            }
            Err(e) if args.keep_going => {
                skipped += 1;
                writeln!(err, "skipped {e}")?;
            }
            Err(e) => {
                out.flush()?;
                return Err(DecodeCmdError::Bad(e));
            }
        }
    }
    if args.summary {
        write_summary(&summary, out)?;
    }
    if skipped > 0 {
        writeln!(err, "{skipped} malformed record(s) skipped")?;
    }
    out.flush()?;
    Ok(())
}

/// `{"record_type","operation","schema","table","partition_key","timestamp","transaction_id",
/// "data","before_image","control"}` with absent values as null.
fn summary_line(m: &KinesisMessage) -> Value {
    let r = &m.record;
    let md = &r.metadata;
    let opt_str = |s: Option<&str>| s.map_or(Value::Null, Value::from);
    let mut f = Fields::with_capacity(10);
    f.push("record_type", md.record_type.as_str());
    f.push("operation", md.operation.as_str());
    f.push("schema", md.schema_name.as_str());
    f.push("table", md.table_name.as_str());
    f.push("partition_key", opt_str(m.partition_key.as_deref()));
    f.push("timestamp", md.timestamp.as_str());
    f.push(
        "transaction_id",
        md.transaction_id.clone().map_or(Value::Null, Value::Number),
    );
    f.push("data", r.data.clone().map_or(Value::Null, Value::Object));
    f.push(
        "before_image",
        r.before_image.clone().map_or(Value::Null, Value::Object),
    );
    let control = if r.control.is_some() {
        r.to_value()
            .as_object()
            .and_then(|o| o.get("control").cloned())
            .unwrap_or_default()
    } else {
        Value::Null
    };
    f.push("control", control);
    Value::Object(f)
}

fn write_summary(
    summary: &BTreeMap<(String, String, String), u64>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let rows: Vec<[String; 3]> = summary
        .iter()
        .map(|((s, t, op), n)| {
            [
                if s.is_empty() {
                    t.clone()
                } else {
                    format!("{s}.{t}")
                },
                op.clone(),
                n.to_string(),
            ]
        })
        .collect();
    crate::table::write(out, &["TABLE", "OPERATION", "RECORDS"], &rows)?;
    let total: u64 = summary.values().sum();
    writeln!(out, "{total} record(s)")
}
