//! The `skconn` binary: parse arguments, set up logging and the runtime, run, exit.

use clap::Parser;
use skconn::cli::Cli;
use skconn::output::LogWriter;

fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    let color = cli.color;
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => match rt.block_on(skconn::run::run(cli)) {
            Ok(code) => code,
            Err(e) => skconn::run::report_error(&e, color),
        },
        Err(e) => skconn::run::report_error(
            &skconn::error::Error::io("cannot start the async runtime", e),
            color,
        ),
    };
    std::process::exit(code);
}

fn init_logging(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "skconn=info,warn",
        (false, 2) => "skconn=debug,info",
        (false, _) => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogWriter)
        .with_ansi(skconn::output::stderr_is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .init();
}
