//! SIGINT and SIGTERM: what an interrupt means at each moment of a run.
//!
//! - Before any change is being applied (loading, listing, planning, the confirmation prompt):
//!   exit at once with 130 (SIGINT) or 143 (SIGTERM); nothing was written.
//! - While applying: the first signal sets the stop flag, so no further change is started; the
//!   requests in flight finish (or time out), and `apply` prints its summary and exits with
//!   130 or 143. A second signal exits at once.
//!
//! It never ends the process while a change it started could still be reported, except on the
//! second signal, which the user asked for.

use crate::apply::Stop;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, OnceLock};

/// Exit code after SIGINT.
pub const SIGINT_EXIT: i32 = 130;
/// Exit code after SIGTERM.
pub const SIGTERM_EXIT: i32 = 143;

static APPLYING: AtomicBool = AtomicBool::new(false);
static RECEIVED: AtomicI32 = AtomicI32::new(0);
static STOP: OnceLock<Stop> = OnceLock::new();

/// The process-wide stop flag that apply workers read.
pub(super) fn stop_flag() -> Stop {
    STOP.get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

/// Starts listening for SIGINT and SIGTERM on the current runtime.
pub(super) fn install() {
    let stop = stop_flag();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let (Ok(mut int), Ok(mut term)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            tracing::debug!("signal handlers could not be installed");
            return;
        };
        tokio::spawn(async move {
            loop {
                let code = tokio::select! {
                    _ = int.recv() => SIGINT_EXIT,
                    _ = term.recv() => SIGTERM_EXIT,
                };
                on_signal(code, &stop);
            }
        });
    }
    #[cfg(not(unix))]
    {
        tokio::spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                on_signal(SIGINT_EXIT, &stop);
            }
        });
    }
}

fn on_signal(code: i32, stop: &Stop) {
    let name = if code == SIGTERM_EXIT {
        "terminated"
    } else {
        "interrupted"
    };
    if RECEIVED.swap(code, Ordering::SeqCst) != 0 {
        crate::output::log::message("error", None, &format!(
            "\nskconn: {name} again: exiting at once; changes in flight may or may not have been applied, plan again to see\n"
        ));
        std::process::exit(code);
    }
    if !APPLYING.load(Ordering::SeqCst) {
        crate::output::log::message(
            "error",
            None,
            &format!("\nskconn: {name}; nothing was applied\n"),
        );
        std::process::exit(code);
    }
    stop.store(true, Ordering::SeqCst);
    crate::output::log::message("warn", None, &format!(
        "\nskconn: {name}: no further change is started; waiting for the requests in flight to finish (interrupt again to exit at once)\n"
    ));
}

/// Marks the start (and end) of the part of a run that writes to environments.
pub(super) fn set_applying(on: bool) {
    APPLYING.store(on, Ordering::SeqCst);
}

/// The exit code of the signal received while applying, if any.
pub(super) fn received() -> Option<i32> {
    match RECEIVED.load(Ordering::SeqCst) {
        0 => None,
        code => Some(code),
    }
}
