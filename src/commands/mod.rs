//! One module per command; each takes a [`Context`] and returns an [`ExitStatus`].
//!
//! Commands orchestrate the core (manifest, model, plan, package, provider)
//! and hand results to the [`Printer`]; they never parse flags (that is
//! [`crate::cli`]) and never render errors (that is [`crate::output::errors`]).

pub mod deploy;
pub mod dev;
pub mod info;
pub mod init;
pub mod invoke;
pub mod live;
pub mod logs;
pub mod package;
pub mod plan;
pub mod remove;
pub mod rollback;
pub mod schema;
pub mod validate;

use std::path::PathBuf;

use crate::manifest::LoadError;
use crate::model::ProviderId;
use crate::output::Printer;
use crate::package::PackageError;
use crate::provider::cloud::CloudError;

/// Process exit codes; documented in README.md. Never renumber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Done (including "nothing to change").
    Success = 0,
    /// The operation failed (packaging, I/O, a cloud call).
    Failure = 1,
    /// Bad flags or arguments.
    Usage = 2,
    /// The manifest is invalid; every problem was printed.
    InvalidManifest = 3,
    /// `invoke`: the function raised an error, or an `--expect-*` check failed.
    FunctionFailed = 4,
    /// Another fnctl command is changing the same app+stage; retry later.
    Locked = 5,
    /// `plan --detailed-exitcode`: the plan has changes (nothing failed).
    /// Terraform uses 2 for this, which is fnctl's usage error.
    Changes = 6,
    /// Ctrl-C stopped `deploy` or `remove` between changes; run it again.
    Interrupted = crate::provider::interrupt::EXIT_STATUS as isize,
}

/// Everything a command needs from the global flags.
#[derive(Debug, Clone)]
pub struct Context {
    pub printer: Printer,
    pub manifest: Option<PathBuf>,
    pub stage: String,
    pub provider: Option<ProviderId>,
    pub cwd: PathBuf,
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// Finding, reading or validating the manifest failed.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The command line asks for something impossible.
    #[error("{message}")]
    Usage {
        message: String,
        help: Option<String>,
    },
    /// Building a package failed.
    #[error(transparent)]
    Package(#[from] PackageError),
    /// A file could not be written or read.
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    /// A cloud call failed, or a cloud refused what was asked of it.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// A local runtime could not start.
    #[error(transparent)]
    Local(#[from] crate::local::WorkerError),
    /// A failure described in words at the point it happened (e.g. a plan
    /// that needs resources fnctl does not own, a cloud that cannot be read).
    #[error("{message}")]
    Failed {
        /// Stable machine name for `--output json`.
        kind: &'static str,
        message: String,
        help: Option<String>,
    },
    /// A command over several providers failed part-way: `report` says what
    /// happened on each (JSON output prints it with the error inside).
    #[error("{source}")]
    Reported {
        #[source]
        source: Box<CommandError>,
        report: serde_json::Value,
    },
}

impl CommandError {
    pub fn usage(message: impl Into<String>, help: impl Into<Option<String>>) -> Self {
        CommandError::Usage {
            message: message.into(),
            help: help.into(),
        }
    }

    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        CommandError::Io {
            what: what.into(),
            source,
        }
    }

    /// The error itself, without the per-provider report around it.
    pub fn cause(&self) -> &CommandError {
        match self {
            CommandError::Reported { source, .. } => source.cause(),
            other => other,
        }
    }

    /// Wraps the error with a per-provider report (kept once: the innermost
    /// error with the outermost report).
    pub fn reported(self, report: serde_json::Value) -> CommandError {
        match self {
            CommandError::Reported { source, .. } => CommandError::Reported { source, report },
            other => CommandError::Reported {
                source: Box::new(other),
                report,
            },
        }
    }

    /// Another fnctl command holds the app+stage's lock.
    pub fn is_locked(&self) -> bool {
        matches!(self.cause(), CommandError::Cloud(e) if e.is_locked())
    }

    pub fn exit_status(&self) -> ExitStatus {
        if self.is_locked() {
            return ExitStatus::Locked;
        }
        if self.is_interrupted() {
            return ExitStatus::Interrupted;
        }
        match self.cause() {
            CommandError::Load(LoadError::Invalid(_)) => ExitStatus::InvalidManifest,
            CommandError::Load(LoadError::NotFound { .. })
            | CommandError::Usage { .. }
            | CommandError::Cloud(CloudError::Usage { .. }) => ExitStatus::Usage,
            CommandError::Load(LoadError::Read { .. })
            | CommandError::Package(_)
            | CommandError::Io { .. }
            | CommandError::Cloud(_)
            | CommandError::Failed { .. }
            | CommandError::Local(_) => ExitStatus::Failure,
            CommandError::Reported { .. } => unreachable!("cause() unwraps reports"),
        }
    }

    /// The status a provider is given in a multi-provider report when this
    /// error stopped it: `locked`, `interrupted` or `failed`.
    pub fn provider_status(&self) -> &'static str {
        if self.is_locked() {
            "locked"
        } else if self.is_interrupted() {
            "interrupted"
        } else {
            "failed"
        }
    }

    /// Ctrl-C stopped the apply between changes.
    pub fn is_interrupted(&self) -> bool {
        matches!(self.cause(), CommandError::Cloud(e) if e.is_interrupted())
    }

    /// Stable machine name for `--output json`.
    pub fn kind(&self) -> &'static str {
        if self.is_locked() {
            return "locked";
        }
        if self.is_interrupted() {
            return "interrupted";
        }
        match self.cause() {
            CommandError::Load(LoadError::Invalid(_)) => "invalid_manifest",
            CommandError::Load(LoadError::NotFound { .. }) => "manifest_not_found",
            CommandError::Load(LoadError::Read { .. }) => "manifest_unreadable",
            CommandError::Usage { .. } => "usage",
            CommandError::Package(_) => "package",
            CommandError::Io { .. } => "io",
            CommandError::Cloud(e) => e.kind(),
            CommandError::Local(_) => "local_runtime",
            CommandError::Failed { kind, .. } => kind,
            CommandError::Reported { .. } => unreachable!("cause() unwraps reports"),
        }
    }

    pub fn help(&self) -> Option<String> {
        match self.cause() {
            CommandError::Usage { help, .. } | CommandError::Failed { help, .. } => help.clone(),
            CommandError::Load(LoadError::NotFound { .. }) => {
                Some("run `fnctl init` to create one, or pass `--manifest PATH`".into())
            }
            CommandError::Cloud(e) => e.hint(),
            CommandError::Local(e) => e.hint(),
            _ => None,
        }
    }
}
