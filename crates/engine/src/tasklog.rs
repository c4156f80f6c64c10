//! A task's `Logging` settings mapped onto `tracing`.
//!
//! DMS logs per component (`SOURCE_UNLOAD`, `SOURCE_CAPTURE`, `TARGET_LOAD`, `TARGET_APPLY`,
//! `TASK_MANAGER`, ...) at a severity per component, and only when `EnableLogging` is true.
//! The engine's task events go through [`TaskLog::enabled`] and are emitted with the
//! `tracing` target `dmsrs::task`, a `component` field and the task identifier, so
//! `RUST_LOG` still decides what reaches the terminal on top of the task's own settings.
//! Errors and warnings are always emitted: they are how a failing task explains itself.

use crate::settings::Logging;
use tracing::Level;

/// Engine components, named as DMS names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Component {
    /// Full load reading the source.
    SourceUnload,
    /// CDC reading the binlog.
    SourceCapture,
    /// Full load writing to the target.
    TargetLoad,
    /// CDC writing to the target.
    TargetApply,
    /// Task lifecycle.
    TaskManager,
}

impl Component {
    /// The DMS component id.
    pub fn id(self) -> &'static str {
        match self {
            Component::SourceUnload => "SOURCE_UNLOAD",
            Component::SourceCapture => "SOURCE_CAPTURE",
            Component::TargetLoad => "TARGET_LOAD",
            Component::TargetApply => "TARGET_APPLY",
            Component::TaskManager => "TASK_MANAGER",
        }
    }
}

/// Which task events to emit.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TaskLog {
    enabled: bool,
    levels: Vec<(String, Level)>,
}

impl TaskLog {
    /// From the task's `Logging` section.
    pub fn from_settings(logging: &Logging) -> Self {
        TaskLog {
            enabled: logging.enable_logging,
            levels: logging.tracing_directives(),
        }
    }

    /// Whether an event of `level` from `component` is emitted: errors and warnings always;
    /// other levels only with `EnableLogging`, up to the component's severity (default
    /// INFO, DMS's `LOGGER_SEVERITY_DEFAULT`).
    pub fn enabled(&self, component: Component, level: Level) -> bool {
        if level <= Level::WARN {
            return true;
        }
        if !self.enabled {
            return false;
        }
        let max = self
            .levels
            .iter()
            .find(|(id, _)| id == component.id())
            .map_or(Level::INFO, |(_, l)| *l);
        level <= max
    }
}

/// Emits a task event through [`TaskLog::enabled`]:
/// `task_event!(log, Component::TargetLoad, INFO, task = %id, "message")`.
#[macro_export]
#[doc(hidden)]
macro_rules! task_event {
    ($log:expr, $component:expr, $level:ident, $($rest:tt)+) => {
        if $log.enabled($component, ::tracing::Level::$level) {
            ::tracing::event!(target: "dmsrs::task", ::tracing::Level::$level, component = $component.id(), $($rest)+);
        }
    };
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::settings::TaskSettings;

    fn log(json: &str) -> TaskLog {
        TaskLog::from_settings(&TaskSettings::from_json(json).unwrap().settings.logging)
    }

    #[test]
    fn severities_gate_events() {
        let off = log(r#"{"Logging": {"EnableLogging": false}}"#);
        assert!(!off.enabled(Component::TargetLoad, Level::INFO));
        assert!(off.enabled(Component::TargetLoad, Level::WARN));
        let on = log(r#"{"Logging": {"EnableLogging": true, "LogComponents": [
            {"Id": "TARGET_LOAD", "Severity": "LOGGER_SEVERITY_DEBUG"},
            {"Id": "SOURCE_CAPTURE", "Severity": "LOGGER_SEVERITY_ERROR"}]}}"#);
        assert!(on.enabled(Component::TargetLoad, Level::DEBUG));
        assert!(!on.enabled(Component::TargetLoad, Level::TRACE));
        assert!(!on.enabled(Component::SourceCapture, Level::INFO));
        assert!(on.enabled(Component::TaskManager, Level::INFO));
        assert!(!on.enabled(Component::TaskManager, Level::DEBUG));
    }
}
