//! `fnctl schema`: the manifest's JSON Schema, for editors and CI checks.

use super::{CommandError, Context, ExitStatus};
use crate::manifest::schema::manifest_schema;

pub fn run(cx: &Context) -> Result<ExitStatus, CommandError> {
    cx.printer.json(&manifest_schema());
    Ok(ExitStatus::Success)
}
