//! `skconn completions SHELL` and `skconn man`: shell completions and the man page, generated
//! from the command-line definition and printed to stdout. Need no settings and no credentials.

use crate::cli::Cli;
use crate::error::{exit, Error, Result};
use crate::output;
use clap::CommandFactory;

pub(super) fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "skconn", &mut buf);
    print(buf)
}

pub(super) fn man() -> Result<i32> {
    let cmd = Cli::command();
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut buf)
        .map_err(|e| Error::io("cannot render the man page", e))?;
    print(buf)
}

fn print(buf: Vec<u8>) -> Result<i32> {
    let text = String::from_utf8(buf).map_err(|e| {
        Error::io(
            "generated text is not UTF-8",
            std::io::Error::new(std::io::ErrorKind::InvalidData, e),
        )
    })?;
    output::out(&text);
    Ok(exit::OK)
}
