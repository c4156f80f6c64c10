//! A task's `Logging` settings decide which of its events reach `tracing`.
#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use dmsrs_tasks::{MigrationType, StartType, TaskStatus};
use std::sync::{Arc, Mutex};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn take(&self) -> String {
        String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_logging_settings_gate_task_events() {
    let out = Captured::default();
    let w = out.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("dmsrs=trace"))
        .with_writer(move || w.clone())
        .with_ansi(false)
        .init();
    let h = Harness::new().await;
    h.sql("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);");

    let run = |id: &'static str, settings: &'static str| {
        let h = &h;
        async move {
            let t = h
                .task(id, MigrationType::FullLoad, mappings("r", "t"), settings)
                .await;
            h.start(&t.arn, StartType::StartReplication).await;
            h.wait(&t.arn, TaskStatus::Stopped).await;
        }
    };

    run("quiet", r#"{"Logging": {"EnableLogging": false}}"#).await;
    let text = out.take();
    assert!(
        !text.contains("full load starts") && !text.contains("task stopped"),
        "{text}"
    );

    run("verbose", r#"{"Logging": {"EnableLogging": true, "LogComponents": [{"Id": "SOURCE_UNLOAD", "Severity": "LOGGER_SEVERITY_DEBUG"}]}}"#).await;
    let text = out.take();
    assert!(
        text.contains("full load starts") && text.contains("component=\"SOURCE_UNLOAD\""),
        "{text}"
    );
    assert!(
        text.contains("snapshot query"),
        "SOURCE_UNLOAD at DEBUG shows the snapshot query: {text}"
    );
    assert!(
        text.contains("full load done") && text.contains("task stopped"),
        "{text}"
    );

    run("default", r#"{"Logging": {"EnableLogging": true}}"#).await;
    let text = out.take();
    assert!(text.contains("full load starts"), "{text}");
    assert!(
        !text.contains("snapshot query"),
        "DEBUG events need a DEBUG severity: {text}"
    );
}
