//! `skconn completions SHELL` and `skconn man`: shell completions and the man page, generated
//! from the command-line definition and printed to stdout. Need no settings and no credentials.

use crate::base::build_info;
use crate::base::error::{exit, Error, Result};
use crate::cli::Cli;
use crate::output;
use clap::CommandFactory;
use clap_mangen::Man;

pub(super) fn completions(shell: clap_complete::Shell) -> Result<i32> {
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(shell, &mut cmd, "skconn", &mut buf);
    print(buf)
}

pub(super) fn man() -> Result<i32> {
    print(man_page().map_err(|e| Error::io("cannot render the man page", e))?)
}

/// One self-contained page: the global options, then every command with its own options, then
/// exit codes and environment variables. The version is the release's, without the commit and
/// target of the build that printed it (the page is the same for every target).
fn man_page() -> std::io::Result<Vec<u8>> {
    let mut cmd = Cli::command().version(build_info::VERSION);
    cmd.build();
    let top = Man::new(cmd.clone());
    let mut page = Vec::new();
    top.render_title(&mut page)?;
    type Section = fn(&Man, &mut dyn std::io::Write) -> std::io::Result<()>;
    let sections: [Section; 4] = [
        Man::render_name_section,
        Man::render_synopsis_section,
        Man::render_description_section,
        Man::render_options_section,
    ];
    for render in sections {
        let mut part = Vec::new();
        render(&top, &mut part)?;
        append(&mut page, &part, Heading::Keep);
    }
    page.extend_from_slice(b".SH COMMANDS\n");
    let globals: Vec<clap::Id> = cmd
        .get_arguments()
        .filter(|a| a.is_global_set())
        .map(|a| a.get_id().clone())
        .collect();
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        let name = sub.get_name().to_string();
        command_section(&mut page, sub, &name, &globals)?;
        // A command group's own commands (`skconn github comment`) get sections too.
        for inner in sub.get_subcommands() {
            if inner.is_hide_set() || inner.get_name() == "help" {
                continue;
            }
            command_section(
                &mut page,
                inner,
                &format!("{name} {}", inner.get_name()),
                &globals,
            )?;
        }
    }
    let mut extra = Vec::new();
    top.render_extra_section(&mut extra)?;
    append(
        &mut page,
        &extra,
        Heading::Rename("EXIT STATUS AND ENVIRONMENT"),
    );
    let mut version = Vec::new();
    top.render_version_section(&mut version)?;
    append(&mut page, &version, Heading::Keep);
    page.extend_from_slice(
        format!(
            ".SH \"SEE ALSO\"\nhttps://github.com/{}#readme\n",
            build_info::REPOSITORY
        )
        .as_bytes(),
    );
    Ok(page)
}

/// One command's section: its synopsis, description, options and extra help, without the
/// global options (listed once, at the top).
fn command_section(
    page: &mut Vec<u8>,
    sub: &clap::Command,
    name: &str,
    globals: &[clap::Id],
) -> std::io::Result<()> {
    let mut sub = sub.clone();
    for id in globals.iter().chain([&clap::Id::from("help")]) {
        if sub.get_arguments().any(|a| a.get_id() == id) {
            sub = sub.mut_arg(id.clone(), |a| a.hide(true));
        }
    }
    let has_args = sub.get_arguments().any(|a| !a.is_hide_set());
    let has_after = sub.get_after_help().is_some() || sub.get_after_long_help().is_some();
    let man = Man::new(sub.clone());
    let mut part = Vec::new();
    man.render_synopsis_section(&mut part)?;
    part.extend_from_slice(b".PP\n");
    man.render_description_section(&mut part)?;
    if has_args {
        man.render_options_section(&mut part)?;
    }
    if has_after {
        part.extend_from_slice(b".PP\n");
        man.render_extra_section(&mut part)?;
    }
    page.extend_from_slice(format!(".SS \"skconn {name}\"\n").as_bytes());
    append(page, &part, Heading::Drop);
    Ok(())
}

/// What [`append`] does with a rendered part's `.SH` heading.
enum Heading {
    Keep,
    Drop,
    Rename(&'static str),
}

/// Appends a rendered part to the page, without the string definitions every render repeats.
fn append(page: &mut Vec<u8>, part: &[u8], heading: Heading) {
    for line in String::from_utf8_lossy(part).lines() {
        if line.starts_with(".ie \\n(.g") || line.starts_with(".el .ds Aq") {
            continue;
        }
        let line = match (&heading, line.starts_with(".SH")) {
            (Heading::Drop, true) => continue,
            (Heading::Rename(to), true) => format!(".SH \"{to}\""),
            _ => line.to_string(),
        };
        page.extend_from_slice(line.as_bytes());
        page.push(b'\n');
    }
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
