//! Command-line parsing (the only module that knows clap) and dispatch.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::commands::{self, CommandError, Context, ExitStatus};
use crate::model::{ProviderId, DEFAULT_STAGE};
use crate::output::{errors, Format, Printer, Verbosity};

/// Deploy serverless functions to AWS and Azure from one fnctl.toml.
#[derive(Debug, Parser)]
#[command(name = "fnctl", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    #[command(flatten)]
    pub global: GlobalArgs,
}

/// Flags every command accepts.
#[derive(Debug, clap::Args)]
pub struct GlobalArgs {
    /// Path to the manifest [default: fnctl.toml in this or a parent directory]
    #[arg(
        long,
        global = true,
        help_heading = "Global options",
        value_name = "PATH",
        env = "FNCTL_MANIFEST"
    )]
    pub manifest: Option<PathBuf>,

    /// Stage to work on
    #[arg(long, short = 's', global = true, help_heading = "Global options", default_value = DEFAULT_STAGE, env = "FNCTL_STAGE")]
    pub stage: String,

    /// Work on one provider only [default: every provider in the manifest]
    #[arg(long, short = 'p', global = true, help_heading = "Global options", value_parser = parse_provider)]
    pub provider: Option<ProviderId>,

    /// Output format
    #[arg(
        long,
        short = 'o',
        global = true,
        help_heading = "Global options",
        value_enum,
        default_value = "human"
    )]
    pub output: Format,

    /// Show more detail
    #[arg(
        long,
        short = 'v',
        global = true,
        help_heading = "Global options",
        conflicts_with = "quiet"
    )]
    pub verbose: bool,

    /// Show only results and errors
    #[arg(long, short = 'q', global = true, help_heading = "Global options")]
    pub quiet: bool,

    /// Disable colour (also: NO_COLOR=1)
    #[arg(long, global = true, help_heading = "Global options")]
    pub no_color: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a new project from a template
    #[command(
        after_help = "Examples:\n  fnctl init python-http --dir hello   # a project from a template\n  fnctl init --list                    # the templates"
    )]
    Init(InitArgs),
    /// Check the manifest and the providers' rules
    #[command(
        after_help = "Examples:\n  fnctl validate                       # every stage, every provider's rules\n  fnctl validate --output json         # diagnostics with file, line, column"
    )]
    Validate,
    /// Show what a deploy would create, update and delete
    #[command(
        after_help = "Examples:\n  fnctl plan                           # read the cloud, show what a deploy would change\n  fnctl plan --offline                 # no credentials: everything shown as new\n  fnctl plan --detailed-exitcode -q    # CI: exit 6 when there are changes"
    )]
    Plan(PlanArgs),
    /// Build each function's deterministic zip under .fnctl/dist/
    #[command(
        after_help = "Examples:\n  fnctl package                        # every function's zip under .fnctl/dist/\n  fnctl package orders --output json   # one function, sizes and sha256"
    )]
    Package(PackageArgs),
    /// Package, plan against the cloud, apply, verify
    #[command(
        after_help = "Examples:\n  fnctl deploy                         # every provider in the manifest\n  fnctl deploy --stage prod -p aws     # one stage, one cloud"
    )]
    Deploy(DeployArgs),
    /// Show what is deployed, read from the cloud
    #[command(
        after_help = "Examples:\n  fnctl info                           # what is deployed, on every provider\n  fnctl info -p azure --output json"
    )]
    Info,
    /// Delete everything fnctl created for this app and stage
    #[command(
        after_help = "Examples:\n  fnctl remove                         # keeps buckets and containers that hold data\n  fnctl remove --delete-data --yes     # and those too, without asking"
    )]
    Remove(RemoveArgs),
    /// Call a deployed function once (a smoke test for CI), or run it locally
    #[command(
        after_help = "Examples:\n  fnctl invoke orders --event http --expect-status 200\n  fnctl invoke orders --route 'POST /orders' --via url\n  echo '{\"id\": 42}' | fnctl invoke orders --data -\n  fnctl invoke orders --local --event http --path /orders/42"
    )]
    Invoke(InvokeArgs),
    /// Serve the app on 127.0.0.1: HTTP routes, schedules, storage folders, hot reload
    #[command(
        after_help = "Examples:\n  fnctl dev                            # then: curl localhost:3000/...\n  fnctl dev --port 8080 --no-watch"
    )]
    Dev(DevArgs),
    /// Show a deployed function's logs
    #[command(
        after_help = "Examples:\n  fnctl logs orders --since 1h --filter ERROR\n  fnctl logs orders -f                 # follow until Ctrl-C"
    )]
    Logs(LogsArgs),
    /// Go back to the code deployed before (every function that has an earlier version, or one)
    #[command(
        after_help = "Examples:\n  fnctl rollback                       # every function that has an earlier version\n  fnctl rollback orders --list         # its versions, dates and digests\n  fnctl rollback orders --to 3"
    )]
    Rollback(RollbackArgs),
    /// Print the manifest's JSON Schema (for editor completion)
    #[command(
        after_help = "Examples:\n  fnctl schema > fnctl.schema.json     # for Taplo / Even Better TOML"
    )]
    Schema,
}

#[derive(Debug, clap::Args)]
pub struct PlanArgs {
    /// Do not read the cloud: show everything as new (no credentials or network needed)
    #[arg(long)]
    pub offline: bool,

    /// Exit 0 when there is nothing to change and 6 when the plan has changes (errors keep their codes)
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// List unchanged resources too, not only their count
    #[arg(long)]
    pub show_unchanged: bool,
}

#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Also empty and delete buckets and containers that still hold data (kept by default)
    #[arg(long)]
    pub delete_data: bool,

    /// Do not ask before deleting (remove never asks under CI or without a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,
}

#[derive(Debug, clap::Args)]
pub struct InvokeArgs {
    /// The function (its name in the manifest)
    pub function: String,
    /// The event: JSON, @path to a JSON file, or - to read it from stdin
    #[arg(long, conflicts_with = "event")]
    pub data: Option<String>,
    /// Send a realistic sample event built from the function's trigger
    #[arg(long, value_enum)]
    pub event: Option<crate::events::EventKind>,
    /// The route a sample HTTP event calls: `POST /orders/{id}`, or a path
    /// alone for its first method [default: the function's first route]
    #[arg(long, value_name = "ROUTE", conflicts_with = "data")]
    pub route: Option<String>,
    /// The concrete path of a sample HTTP event (`/orders/42`): the route
    /// that matches it, with its path parameters taken from it
    #[arg(long, value_name = "PATH", conflicts_with = "data")]
    pub path: Option<String>,
    /// Fail (exit 4) unless the response's statusCode is this
    #[arg(long)]
    pub expect_status: Option<u16>,
    /// Fail (exit 4) unless the response body matches this regular expression
    #[arg(long)]
    pub expect_body: Option<String>,
    /// Run the function on this machine (official runtime clients, no cloud)
    #[arg(long)]
    pub local: bool,
    /// With --local: run it as that cloud would (azure: through the generated
    /// Azure Functions adapter, with Microsoft's azure-functions package)
    #[arg(long = "as", value_name = "PROVIDER", requires = "local", value_parser = parse_provider)]
    pub run_as: Option<ProviderId>,
    /// How to reach the deployed function: `direct` (Lambda Invoke; Azure's
    /// admin endpoint) or `url` (its HTTP route, as clients call it; the
    /// default for HTTP functions on Azure)
    #[arg(long, value_enum, conflicts_with = "local")]
    pub via: Option<commands::invoke::Via>,
    /// Call the routes under this base URL (a custom domain, a proxy)
    /// instead of the one the cloud assigned; implies --via url
    #[arg(long, value_name = "URL", conflicts_with = "local")]
    pub base_url: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DevArgs {
    /// Port on 127.0.0.1 (0 picks a free one)
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
    /// Warm workers per function at most (requests beyond wait)
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub max_workers: u16,
    /// Do not reload when the manifest or code changes
    #[arg(long)]
    pub no_watch: bool,
    /// How long a failed queue message waits before it is delivered again
    /// (SQS waits the queue's visibility timeout): 0, 250ms, 2s
    #[arg(long, value_name = "DELAY", default_value = "1s", value_parser = crate::local::queue::parse_delay)]
    pub queue_retry_delay: std::time::Duration,
}

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The function (its name in the manifest)
    pub function: String,
    /// How far back to start: 30s, 10m, 2h, 1d
    #[arg(long, default_value = "10m", value_parser = commands::logs::parse_since)]
    pub since: u64,
    /// Keep printing new lines until Ctrl-C
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only lines containing this text (literal and case-sensitive, the
    /// same on every cloud)
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RollbackArgs {
    /// Only this function [default: every function that has an earlier version]
    pub function: Option<String>,
    /// Go to this version (`--list` shows them) instead of the one before
    #[arg(long, value_name = "VERSION")]
    pub to: Option<String>,
    /// List the versions a rollback can go to, with dates and code digests
    #[arg(long, conflicts_with = "to")]
    pub list: bool,
}

#[derive(Debug, clap::Args)]
pub struct DeployArgs {
    /// How many resources to change at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
    /// Deploy only this function (repeatable) and the shared resources its
    /// changes need; the rest of the app is not checked
    #[arg(long = "function", short = 'f', value_name = "NAME")]
    pub functions: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct InitArgs {
    /// Template to start from (see --list)
    #[arg(default_value = "python-http")]
    pub template: String,
    /// Directory to create the project in
    #[arg(long, default_value = ".")]
    pub dir: PathBuf,
    /// App name [default: the directory's name]
    #[arg(long)]
    pub name: Option<String>,
    /// List the templates and exit
    #[arg(long)]
    pub list: bool,
    /// Overwrite existing files
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct PackageArgs {
    /// Package only these functions
    #[arg(long = "function", short = 'f', value_name = "NAME")]
    pub functions: Vec<String>,
}

fn parse_provider(s: &str) -> Result<ProviderId, String> {
    ProviderId::parse(s).ok_or_else(|| format!("unknown provider `{s}`; expected `aws` or `azure`"))
}

/// Parses arguments, runs the command, renders any error, returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let g = &cli.global;
    let verbosity = if g.quiet {
        Verbosity::Quiet
    } else if g.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let printer = Printer::new(g.output, verbosity, g.no_color);
    let cwd = match std::env::current_dir() {
        Ok(d) => d,
        Err(e) => {
            printer.error(&format!("cannot read the current directory: {e}"));
            return ExitCode::from(ExitStatus::Failure as u8);
        }
    };
    let cx = Context {
        printer: printer.clone(),
        manifest: g.manifest.clone(),
        stage: g.stage.clone(),
        provider: g.provider,
        cwd,
    };
    let result: Result<ExitStatus, CommandError> = match &cli.command {
        Command::Init(a) => commands::init::run(&cx, a),
        Command::Validate => commands::validate::run(&cx),
        Command::Plan(a) => commands::plan::run(
            &cx,
            &commands::plan::PlanOptions {
                offline: a.offline,
                detailed_exitcode: a.detailed_exitcode,
                show_unchanged: a.show_unchanged,
            },
        ),
        Command::Deploy(a) => commands::deploy::run(&cx, a.concurrency as usize, &a.functions),
        Command::Info => commands::info::run(&cx),
        Command::Remove(a) => commands::remove::run(&cx, a.delete_data, a.yes),
        Command::Invoke(a) => commands::invoke::run(
            &cx,
            &commands::invoke::InvokeOptions {
                function: a.function.clone(),
                data: a.data.clone(),
                event: a.event,
                expect_status: a.expect_status,
                expect_body: a.expect_body.clone(),
                local: a.local,
                run_as: a.run_as,
                via: a.via,
                base_url: a.base_url.clone(),
                http: crate::events::HttpChoice {
                    route: a.route.clone(),
                    path: a.path.clone(),
                },
            },
        ),
        Command::Dev(a) => commands::dev::run(
            &cx,
            a.port,
            a.max_workers as usize,
            !a.no_watch,
            a.queue_retry_delay,
        ),
        Command::Logs(a) => commands::logs::run(
            &cx,
            &commands::logs::LogsOptions {
                function: a.function.clone(),
                since_secs: a.since,
                follow: a.follow,
                filter: a.filter.clone(),
            },
        ),
        Command::Rollback(a) => commands::rollback::run(
            &cx,
            &commands::rollback::RollbackOptions {
                function: a.function.clone(),
                to: a.to.clone(),
                list: a.list,
            },
        ),
        Command::Package(a) => commands::package::run(&cx, &a.functions),
        Command::Schema => commands::schema::run(&cx),
    };
    let status = match result {
        Ok(s) => s,
        Err(e) => errors::report(&printer, &e),
    };
    ExitCode::from(status as u8)
}
