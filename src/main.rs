//! The `skconn` binary: parse arguments, set up logging and the runtime, run, exit.

use clap::Parser;
use skconn::cli::Cli;
use skconn::output::LogWriter;

fn main() {
    // A panic is a bug: say so, with any secret removed from the message, and exit 1 (never 101).
    std::panic::set_hook(Box::new(|info| {
        skconn::output::err(&format!(
            "error: skconn hit an internal error (a bug; please report it): {info}\n"
        ));
    }));
    let code = std::panic::catch_unwind(real_main).unwrap_or(skconn::error::exit::ERROR);
    std::process::exit(code);
}

fn real_main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version succeed; a usage error is exit 1, since 2 means "changes".
            let _ = e.print();
            return if e.use_stderr() {
                skconn::error::exit::ERROR
            } else {
                0
            };
        }
    };
    let color = cli.color;
    init_logging(cli.verbose, cli.quiet, color);
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
    code
}

fn init_logging(verbose: u8, quiet: bool, color: skconn::cli::ColorChoice) {
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
        .with_ansi(skconn::output::use_color(
            color,
            skconn::output::stderr_is_terminal(),
        ))
        .with_target(false)
        .init();
}
