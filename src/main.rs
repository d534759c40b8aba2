//! The `fnctl` binary: everything lives in the library; see `fnctl::cli`.

fn main() -> std::process::ExitCode {
    fnctl::cli::main()
}
