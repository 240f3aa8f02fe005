//! Running a daemon from a thin `main`: tracing on stderr, then bind the
//! listen address, start `run(config, listener, shutdown)`, and on SIGINT or
//! SIGTERM cancel it and let it drain for a grace period. Shared by
//! `sync178-node run` and `sync178-hub run`.
// This module is the binaries' `main` half: it reports to the terminal.
#![allow(clippy::print_stderr)]

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::filter::LevelFilter;

use sync178_shared::exit;

/// How long a stopping daemon may drain before it is abandoned.
pub const GRACE: Duration = Duration::from_secs(30);

/// Logs to stderr, filtered by `RUST_LOG` (default `default`), as JSON lines
/// when `json`.
pub fn init_tracing(default: LevelFilter, json: bool) {
    let filter = EnvFilter::builder()
        .with_default_directive(default.into())
        .from_env_lossy();
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        fmt.json().init();
    } else {
        fmt.init();
    }
}

/// Binds `listen`, runs `start(listener, shutdown)` as a task until it ends
/// or a signal arrives, then cancels it and waits up to [`GRACE`]. Returns
/// the process exit code: 0 after a clean stop, [`exit::UNAVAILABLE`] when the
/// address cannot be bound, else what `exit_code` says of the error:
/// [`exit::USAGE`] for what the operator must fix (config, certificates,
/// topology), [`exit::UNAVAILABLE`] for a busy resource, [`exit::FAILURE`] else.
pub async fn serve<E, F, Fut>(
    what: &'static str,
    listen: SocketAddr,
    start: F,
    exit_code: impl Fn(&E) -> u8,
) -> u8
where
    E: Display + Send + 'static,
    F: FnOnce(TcpListener, CancellationToken) -> Fut,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
{
    let listener = match TcpListener::bind(listen).await {
        Ok(l) => l,
        Err(e) => {
            eprintln!("cannot listen on {listen}: {e}");
            return exit::UNAVAILABLE;
        }
    };
    let (mut sigint, mut sigterm) = match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(i), Ok(t)) => (i, t),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("cannot install signal handlers: {e}");
            return exit::FAILURE;
        }
    };
    let token = CancellationToken::new();
    let mut task = tokio::spawn(Box::pin(start(listener, token.clone())));
    let finished = |res: Result<Result<(), E>, tokio::task::JoinError>| match res {
        Ok(Ok(())) => 0,
        Ok(Err(e)) => {
            eprintln!("{e}");
            exit_code(&e)
        }
        Err(e) => {
            eprintln!("{what} task failed: {e}");
            exit::FAILURE
        }
    };
    tokio::select! {
        res = &mut task => return finished(res),
        _ = sigint.recv() => tracing::info!(signal = "SIGINT", "stopping"),
        _ = sigterm.recv() => tracing::info!(signal = "SIGTERM", "stopping"),
    }
    token.cancel();
    match tokio::time::timeout(GRACE, task).await {
        Ok(res) => finished(res),
        Err(_) => {
            tracing::warn!(grace_secs = GRACE.as_secs(), "{what} did not stop in time");
            exit::FAILURE
        }
    }
}
