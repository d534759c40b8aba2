//! fnctl: one `fnctl.toml`, deployed to AWS Lambda and Azure Functions.
//!
//! The flow is manifest → model → plan → apply; see docs/ARCHITECTURE.md.
//! Only [`cli`] knows about clap, and only [`provider`] knows any cloud.

pub mod cli;
pub mod commands;
pub mod events;
pub mod local;
pub mod manifest;
pub mod model;
pub mod output;
pub mod package;
pub mod plan;
pub mod project;
pub mod provider;
pub mod suggest;
