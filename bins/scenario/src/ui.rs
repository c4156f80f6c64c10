//! Output for people: step headings, a spinner while waiting (plain lines when stderr is
//! not a terminal), record tables, statistics tables and the final summary line.

use crate::table;
use dmsrs_seed::flows::Observer;
use dmsrs_seed::report::{Report, StepReport};
use dmsrs_stack::ResourceEvent;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{IsTerminal, Write};
use std::sync::Mutex;
use std::time::Duration;

/// Where progress goes.
pub struct Ui {
    /// Machine output mode: no human output at all.
    quiet: bool,
    spinner: Mutex<Option<ProgressBar>>,
    tty: bool,
}

impl std::fmt::Debug for Ui {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ui")
            .field("quiet", &self.quiet)
            .field("tty", &self.tty)
            .finish()
    }
}

impl Ui {
    /// Human output unless `quiet` (`--json`).
    pub fn new(quiet: bool) -> Self {
        Ui {
            quiet,
            spinner: Mutex::new(None),
            tty: std::io::stderr().is_terminal(),
        }
    }

    fn clear(&self) {
        if let Ok(mut s) = self.spinner.lock()
            && let Some(pb) = s.take()
        {
            pb.finish_and_clear();
        }
    }

    /// A line on stdout (after clearing the spinner).
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        self.clear();
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{text}");
    }

    /// Shows what is being waited for: a spinner on a terminal, a plain line otherwise.
    pub fn wait(&self, what: &str) {
        if self.quiet {
            return;
        }
        if !self.tty {
            eprintln!("  ... {what}");
            return;
        }
        if let Ok(mut s) = self.spinner.lock() {
            let pb = s.get_or_insert_with(|| {
                let pb = ProgressBar::new_spinner();
                pb.set_style(
                    ProgressStyle::with_template("  {spinner} {msg} ({elapsed})")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                pb.enable_steady_tick(Duration::from_millis(100));
                pb
            });
            pb.set_message(what.to_owned());
        }
    }

    /// Reports a deploy/destroy event.
    pub fn resource(&self, e: &ResourceEvent) {
        match e {
            ResourceEvent::Working { kind, name } => self.wait(&format!("{kind} {name}")),
            ResourceEvent::Created { kind, name, detail } => {
                self.line(&format!("  + {kind:<8} {name}  {detail}"))
            }
            ResourceEvent::Reused { kind, name, detail } => {
                self.line(&format!("  = {kind:<8} {name}  {detail}"))
            }
            ResourceEvent::Deleted { kind, name } => self.line(&format!("  - {kind:<8} {name}")),
        }
    }

    /// Prints the statistics tables and the final line.
    pub fn summary(&self, report: &Report) {
        if self.quiet {
            return;
        }
        self.clear();
        for (task, stats) in &report.statistics {
            self.line(&format!("\nTable statistics: {task}"));
            let rows: Vec<[String; 8]> = stats
                .iter()
                .map(|s| {
                    [
                        format!("{}.{}", s.schema_name, s.table_name),
                        s.table_state.clone(),
                        s.full_load_rows.to_string(),
                        s.full_load_error_rows.to_string(),
                        s.inserts.to_string(),
                        s.updates.to_string(),
                        s.deletes.to_string(),
                        s.ddls.to_string(),
                    ]
                })
                .collect();
            let mut buf = Vec::new();
            let _ = table::write(
                &mut buf,
                &[
                    "TABLE",
                    "STATE",
                    "FULL LOAD ROWS",
                    "ERROR ROWS",
                    "INSERTS",
                    "UPDATES",
                    "DELETES",
                    "DDLS",
                ],
                &rows,
            );
            self.line(String::from_utf8_lossy(&buf).trim_end());
        }
        let d = &report.durations_ms;
        let parts: Vec<String> = d
            .iter()
            .map(|(k, v)| format!("{k} {:.2} s", *v as f64 / 1000.0))
            .collect();
        if !parts.is_empty() {
            self.line(&format!("\nDurations: {}", parts.join(", ")));
        }
        self.line(&format!(
            "scenario: {} passed, {} failed",
            report.passed(),
            report.failed()
        ));
    }
}

impl Observer for Ui {
    fn step(&self, name: &str) {
        self.line(&format!("\n== {name}"));
    }

    fn waiting(&self, what: &str) {
        self.wait(what);
    }

    fn finished(&self, step: &StepReport) {
        if self.quiet {
            return;
        }
        self.clear();
        if !step.records.is_empty() {
            let rows: Vec<[String; 4]> = step
                .records
                .iter()
                .map(|r| {
                    [
                        r.operation.clone(),
                        r.table.clone(),
                        r.key.clone().unwrap_or_else(|| "-".into()),
                        if r.changed.is_empty() {
                            "-".into()
                        } else {
                            r.changed.join(",")
                        },
                    ]
                })
                .collect();
            let mut buf = Vec::new();
            let _ = table::write(
                &mut buf,
                &["OPERATION", "TABLE", "KEY", "CHANGED COLUMNS"],
                &rows,
            );
            for l in String::from_utf8_lossy(&buf).lines() {
                self.line(&format!("  {l}"));
            }
        }
        let verdict = if step.ok { "ok" } else { "FAILED" };
        self.line(&format!(
            "  {verdict}: expected {}, received {} ({} ms)",
            step.expected, step.received, step.duration_ms
        ));
        for p in &step.problems {
            self.line(&format!("    - {p}"));
        }
    }
}
