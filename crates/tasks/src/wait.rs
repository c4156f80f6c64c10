//! Waiting for task statuses with a timeout, by polling (the SDK waiters sleep 15 s minimum).

use crate::{DmsError, ReplicationService, ReplicationTask, Result, TaskStatus};
use std::time::{Duration, Instant};

/// Polls `arn` every `interval` until its status is `expected`, for at most `timeout`.
///
/// Fails early when the task reaches `failed` (unless that is what was asked for), with the
/// task's `LastFailureMessage`; on timeout the error carries the last status seen.
pub async fn wait_for_status(
    svc: &(impl ReplicationService + ?Sized),
    arn: &str,
    expected: TaskStatus,
    timeout: Duration,
    interval: Duration,
) -> Result<ReplicationTask> {
    let start = Instant::now();
    loop {
        let t = svc.describe_task(arn).await?;
        if t.status == expected {
            return Ok(t);
        }
        if t.status == TaskStatus::Failed && expected != TaskStatus::Failed {
            return Err(DmsError::InvalidResourceState(format!(
                "task {arn} failed while waiting for {expected}: {}",
                t.last_failure_message
                    .as_deref()
                    .unwrap_or("no failure message")
            )));
        }
        if start.elapsed() >= timeout {
            return Err(DmsError::WaitTimeout {
                what: arn.to_owned(),
                expected: expected.to_string(),
                last_status: t.status.to_string(),
                waited_secs: start.elapsed().as_secs(),
            });
        }
        tokio::time::sleep(interval).await;
    }
}
