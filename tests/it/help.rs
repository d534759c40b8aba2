//! Every subcommand's `--help` shows its own flags first, the global ones
//! after them under their own heading, and ends with examples.

use crate::common::fnctl;

const COMMANDS: &[&str] = &[
    "init", "validate", "plan", "package", "deploy", "info", "remove", "invoke", "dev", "logs",
    "rollback", "schema",
];

#[test]
fn each_subcommand_help_has_examples_and_its_own_flags_first() {
    for cmd in COMMANDS {
        let out = fnctl().args([cmd, "--help"]).output().unwrap();
        assert!(out.status.success(), "{cmd} --help");
        let help = String::from_utf8_lossy(&out.stdout);
        let examples = help
            .find("Examples:\n  fnctl ")
            .unwrap_or_else(|| panic!("{cmd}: no examples\n{help}"));
        assert!(
            help[examples..].contains(&format!("fnctl {cmd}")),
            "{cmd}: its examples use it\n{help}"
        );
        let global = help
            .find("Global options:")
            .unwrap_or_else(|| panic!("{cmd}: no global heading\n{help}"));
        let manifest = help.find("--manifest").unwrap();
        assert!(
            manifest > global,
            "{cmd}: --manifest under the global heading\n{help}"
        );
        let own = help.find("Options:").unwrap();
        assert!(own < global, "{cmd}: own options first\n{help}");
    }
}
