//! [`BinlogError`]: everything that can stop the binlog reader, with what to do about it.

use super::BinlogPosition;

/// Why the binlog reader stopped. Every message says what to do.
///
/// After any error the [`BinlogReader`](super::BinlogReader) is finished: drop it and, for a
/// retryable error ([`BinlogError::is_retryable`]), open a new one at the last checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BinlogError {
    /// The source is not set up for binlog replication; one line per problem, each with its fix.
    #[error("the source is not ready for CDC:\n{}", .problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    Setup {
        /// Each problem and how to fix it.
        problems: Vec<String>,
    },
    /// The requested binlog file or position no longer exists on the source (purged, or the
    /// binlog was reset). Changes since then are lost to CDC.
    #[error(
        "the binlog position {position} is no longer available on the source (the binlog was purged or reset): \
         restart the task with reload-target to copy the tables again, and keep binlogs longer \
         (binlog_expire_logs_seconds / expire_logs_days) so the task can catch up after an outage"
    )]
    Purged {
        /// The position that is gone.
        position: BinlogPosition,
    },
    /// The connection to the source failed or was lost (network, server restart or shutdown,
    /// too many connections). Retry later.
    #[error(
        "lost the connection to the source: {message}; retry from the last checkpoint once the source is reachable"
    )]
    Connection {
        /// What happened.
        message: String,
    },
    /// No event and no heartbeat arrived for this long: the connection is presumed dead.
    #[error(
        "no binlog event or heartbeat from the source for {seconds} s: the connection is presumed dead; retry from the last checkpoint"
    )]
    Timeout {
        /// Seconds waited.
        seconds: u64,
    },
    /// The server refused a request or reported an error.
    #[error("the source reported error {code}: {message}{}", hint(*.code))]
    Server {
        /// MySQL/MariaDB error code.
        code: u16,
        /// The server's message.
        message: String,
        /// Whether the same request may succeed later.
        retryable: bool,
    },
    /// The binlog holds something this reader cannot decode without losing data; the message
    /// names the event and the server setting to change.
    #[error("the binlog at {position} holds {what}, which dmsrs cannot replicate: {fix}")]
    Unsupported {
        /// Where.
        position: BinlogPosition,
        /// The event or feature.
        what: String,
        /// The setting to change on the source.
        fix: String,
    },
    /// An event could not be decoded (malformed, or inconsistent with its table map).
    #[error("cannot decode the binlog event at {position}: {detail}")]
    Decode {
        /// Where.
        position: BinlogPosition,
        /// What is wrong.
        detail: String,
    },
    /// With `binlog_row_metadata` other than FULL the reader names columns from
    /// `information_schema`, and the table there no longer matches the row events (the task
    /// is behind a DDL it has not read yet, or started after it).
    #[error(
        "cannot name the columns of {table} at {position}: {detail}. Set binlog_row_metadata=FULL on the \
         source (the binlog then carries the column names) and restart the task with reload-target"
    )]
    SchemaMismatch {
        /// `schema.table`.
        table: String,
        /// Where.
        position: BinlogPosition,
        /// The difference.
        detail: String,
    },
}

fn hint(code: u16) -> &'static str {
    match code {
        1045 => " (check the source endpoint's user name and password)",
        1044 | 1142 | 1227 | 1370 => {
            " (grant the source user REPLICATION SLAVE, REPLICATION CLIENT (BINLOG MONITOR on MariaDB) and SELECT)"
        }
        1236 => {
            " (the binlog cannot be read from this position; restart the task with reload-target)"
        }
        _ => "",
    }
}

/// Server error codes after which retrying can succeed.
fn retryable_code(code: u16) -> bool {
    matches!(
        code,
        1040 // too many connections
        | 1053 // server shutdown in progress
        | 1077 | 1078 | 1079 | 1080 // normal / got signal / shutdown complete / forcing close
        | 1152 | 1153 | 1154 | 1155 | 1156 | 1157 | 1158 | 1159 | 1160 | 1161 // network errors
        | 1205 | 1213 // lock wait timeout, deadlock
        | 1317 // query interrupted
        | 1927 // connection killed
        | 2002 | 2003 | 2006 | 2013 // client-side connection errors
        | 4031 // disconnected by the server for inactivity
    )
}

impl BinlogError {
    /// True when the same request may succeed later without any change (connection lost,
    /// server restarting or shutting down, timeouts): reopen the reader at the last checkpoint.
    pub fn is_retryable(&self) -> bool {
        match self {
            BinlogError::Connection { .. } | BinlogError::Timeout { .. } => true,
            BinlogError::Server { retryable, .. } => *retryable,
            _ => false,
        }
    }

    /// Classifies a driver error; `position` is where the reader was (for [`BinlogError::Purged`]).
    pub(crate) fn from_mysql(e: mysql_async::Error, position: &BinlogPosition) -> BinlogError {
        use mysql_async::Error as E;
        match e {
            E::Server(s) => {
                let lower = s.message.to_ascii_lowercase();
                if s.code == 1236
                    && (lower.contains("could not find first log file")
                        || lower.contains("purged")
                        || lower.contains("could not open log file")
                        || lower.contains("binlog truncated")
                        || lower.contains("could not find gtid"))
                {
                    return BinlogError::Purged {
                        position: position.clone(),
                    };
                }
                BinlogError::Server {
                    code: s.code,
                    retryable: retryable_code(s.code),
                    message: s.message,
                }
            }
            E::Io(io) => BinlogError::Connection {
                message: io.to_string(),
            },
            E::Driver(d) => BinlogError::Connection {
                message: d.to_string(),
            },
            other => BinlogError::Server {
                code: 0,
                message: other.to_string(),
                retryable: false,
            },
        }
    }
}

impl From<BinlogError> for crate::error::EngineError {
    fn from(e: BinlogError) -> Self {
        match e {
            BinlogError::Purged { position } => crate::error::EngineError::BinlogPurged {
                position: position.to_string(),
            },
            other => crate::error::EngineError::Source {
                retryable: other.is_retryable(),
                message: other.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        let p = BinlogPosition::new("mysql-bin.000003", 1520);
        let purged = BinlogError::Purged {
            position: p.clone(),
        }
        .to_string();
        assert!(
            purged.contains("mysql-bin.000003:1520") && purged.contains("reload-target"),
            "{purged}"
        );
        let setup = BinlogError::Setup {
            problems: vec!["a: fix a".into(), "b: fix b".into()],
        }
        .to_string();
        assert!(setup.contains("  - a: fix a\n  - b: fix b"), "{setup}");
        assert!(
            BinlogError::Connection {
                message: "x".into()
            }
            .is_retryable()
        );
        assert!(BinlogError::Timeout { seconds: 1 }.is_retryable());
        assert!(
            !BinlogError::Purged {
                position: p.clone()
            }
            .is_retryable()
        );
        assert!(
            BinlogError::Server {
                code: 1053,
                message: "shutdown".into(),
                retryable: retryable_code(1053)
            }
            .is_retryable()
        );
        let unsupported = BinlogError::Unsupported {
            position: p,
            what: "QUERY_COMPRESSED_EVENT (165)".into(),
            fix: "set log_bin_compress=OFF".into(),
        };
        assert!(!unsupported.is_retryable());
        assert!(unsupported.to_string().contains("log_bin_compress=OFF"));
    }
}
