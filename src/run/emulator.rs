//! `skconn emulator`: the Scalekit-compatible emulator in the foreground.

use crate::base::error::{exit, Error, Result};
use crate::cli::EmulatorArgs;
use crate::emulator;

pub(super) async fn run(args: EmulatorArgs) -> Result<i32> {
    let generated = args.client_secret.is_none();
    let secret = args
        .client_secret
        .unwrap_or_else(|| format!("emu-{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..)));
    let mut faults = Vec::new();
    for spec in &args.faults {
        faults.push(
            spec.parse::<emulator::Fault>()
                .map_err(|e| Error::Usage(format!("--fault {spec}: {e}")))?,
        );
    }
    let mut connections = Vec::new();
    for spec in &args.connections {
        connections.push(
            spec.parse::<emulator::SeedConnection>()
                .map_err(|e| Error::Usage(format!("--connection {spec}: {e}")))?,
        );
    }
    let usage = emulator::UsageOptions {
        app_connections_missing: args.no_app_connections,
        in_use_refusal: if args.in_use_status == "403" {
            emulator::InUseRefusal::Forbidden
        } else {
            emulator::InUseRefusal::FailedPrecondition
        },
        ..emulator::UsageOptions::default()
    };
    let config = emulator::Config {
        listen: args.listen,
        client_id: args.client_id.clone(),
        client_secret: secret.clone(),
        state_file: args.state.clone(),
        max_page_size: args.max_page_size.max(1),
        token_ttl: std::time::Duration::from_secs(args.token_ttl),
        latency: std::time::Duration::from_millis(args.latency_ms),
        clock_skew_secs: args.clock_skew,
        faults,
        usage,
        connections,
        ..emulator::Config::default()
    };
    let client_id = args.client_id;
    emulator::Emulator::serve(config, move |addr| {
        // The emulator's own credentials are printed on purpose: they are what a user needs to
        // point skconn at it. A generated secret is new on every start.
        // `export` lines, values shell-quoted, so that they can be pasted into a shell as
        // they are.
        use crate::output::escape::shell_word;
        let secret_line = if generated {
            format!("  export SCALEKIT_CLIENT_SECRET={}", shell_word(&secret))
        } else {
            "  # SCALEKIT_CLIENT_SECRET: the secret given with --client-secret".to_string()
        };
        #[allow(clippy::print_stdout)]
        {
            println!("skconn emulator listening on http://{addr}");
            println!(
                "  export SCALEKIT_ENVIRONMENT_URL={}",
                shell_word(&format!("http://{addr}"))
            );
            println!("  export SCALEKIT_CLIENT_ID={}", shell_word(&client_id));
            println!("{secret_line}");
            println!("Press Ctrl-C to stop.");
        }
    })
    .await
    .map_err(|e| Error::Local(e.to_string()))?;
    Ok(exit::OK)
}
