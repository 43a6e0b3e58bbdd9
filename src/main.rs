//! The `skconn` binary: parse arguments, set up logging and the runtime, run, exit.

use clap::Parser;
use skconn::cli::Cli;

fn main() {
    // A panic is a bug: say so, with any secret removed from the message, and exit 1 (never 101).
    std::panic::set_hook(Box::new(|info| {
        skconn::output::err(&format!(
            "error: skconn hit an internal error (a bug; please report it): {info}\n"
        ));
    }));
    let code = std::panic::catch_unwind(real_main).unwrap_or(skconn::base::error::exit::ERROR);
    std::process::exit(code);
}

fn real_main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version succeed; a usage error is exit 1, since 2 means "changes".
            // Written through the one redacting output, like everything else.
            let text = if skconn::output::stdout_is_terminal() {
                skconn::output::styled_ansi(&e.render().ansi().to_string())
            } else {
                e.render().to_string()
            };
            if e.use_stderr() {
                skconn::output::err(&text);
            } else {
                skconn::output::out(&text);
            }
            return if e.use_stderr() {
                skconn::base::error::exit::ERROR
            } else {
                0
            };
        }
    };
    let color = cli.color;
    skconn::output::log::init(cli.verbose, cli.quiet, cli.log_format, color);
    let code = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => match rt.block_on(skconn::run::run(cli)) {
            Ok(code) => code,
            Err(e) => skconn::run::report_error(&e, color),
        },
        Err(e) => skconn::run::report_error(
            &skconn::base::error::Error::io("cannot start the async runtime", e),
            color,
        ),
    };
    code
}
