//! sync178-node: one daemon per administrative unit. It records events from
//! the unit's officers (`Ingest`), keeps working offline, syncs its log and
//! its subtree's upward (`Sync`, uplink), serves its log to hubs (`Feed`) and
//! says how it is doing (`Admin`). Every link is mutual TLS.
//!
//! [`run`] is the whole daemon; `main.rs` and the tests call the same function.

pub mod admin;
pub mod backup;
pub mod certs;
pub mod cli;
pub mod client_ref;
pub mod config;
pub mod daemon;
pub mod deploy;
mod entry;
pub mod feed;
pub mod i18n;
pub mod ingest;
pub mod numbers;
mod recover;
pub mod revocation;
pub mod revoke;
pub mod state;
pub mod sync;
pub mod uplink;

use std::sync::Arc;

use sync178_shared::history::{History, HistoryError};
use sync178_shared::log::{Log, LogError};
use sync178_shared::proto::v1::admin_server::AdminServer;
use sync178_shared::proto::v1::feed_server::FeedServer;
use sync178_shared::proto::v1::ingest_server::IngestServer;
use sync178_shared::proto::v1::sync_server::SyncServer;
use sync178_shared::tls::{Identity, Role, TlsError};
use sync178_shared::topology::TopologyError;
use sync178_shared::unit::UnitId;
use tokio::net::TcpListener;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::interceptor::InterceptedService;

pub use config::Config;

use config::Limits;
use state::NodeState;

/// How long opening the log may take before the node gives up (exit 69).
const OPEN_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Opens the log; a store sled cannot read at all is set aside (never
/// deleted) when a parent can give its events back, and a new one started
/// that stays closed until they are back. Without a parent (the province)
/// the error stands: restore a backup.
fn open_log(dir: &std::path::Path, unit: UnitId, has_parent: bool) -> Result<Log, NodeError> {
    match Log::open(dir, unit) {
        Err(e) if e.is_damaged_store() && has_parent => {
            let aside = sync178_shared::log::set_aside(dir).map_err(|io| NodeError::Config {
                field: "data_dir",
                reason: format!("{e}; moving the damaged store aside failed: {io}"),
            })?;
            tracing::error!(%unit, error = %e, aside = %aside.display(),
                "the event log is damaged beyond reading; set aside, recovering from the parent");
            Ok(Log::open(dir, unit)?)
        }
        other => Ok(other?),
    }
}

/// Why the node could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// Certificates could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The topology could not be loaded.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The administrative history (listings and merges) could not be loaded.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The event log could not be opened.
    #[error(transparent)]
    Log(#[from] LogError),
    /// The configuration does not fit the certificate or the topology.
    #[error("{field}: {reason}")]
    Config {
        /// The config field at fault.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The gRPC server failed.
    #[error("server: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// The disk refused a write (full, read-only): the node stopped so that
    /// its supervisor starts it again; nothing unacknowledged was claimed.
    #[error(
        "the disk refused a write, the node stopped (nothing acknowledged is lost; \
         it starts again once the disk takes writes): {0}"
    )]
    Storage(String),
}

/// What the services and tasks of one node share.
#[derive(Debug)]
pub(crate) struct Ctx {
    pub(crate) unit: UnitId,
    /// The listings in force over time, their union and the merges.
    pub(crate) history: Arc<History>,
    pub(crate) log: Log,
    pub(crate) state: NodeState,
    pub(crate) limits: Limits,
    pub(crate) shutdown: CancellationToken,
    pub(crate) tasks: TaskTracker,
    pub(crate) started_at: i64,
    /// Parent unit and endpoint.
    pub(crate) parent: Option<(UnitId, String)>,
    /// The province's revocation list in force here.
    pub(crate) revocations: revocation::NodeRevocations,
}

/// Today's date (UTC) at this node.
pub(crate) fn today() -> sync178_shared::period::Date {
    time::OffsetDateTime::now_utc().date()
}

/// The sockets a node serves on, bound by its caller: `main` binds them from
/// the config, tests bind `127.0.0.1:0`.
#[derive(Debug)]
pub struct Listeners {
    /// gRPC (mutual TLS): recorders, children, hubs, operators.
    pub grpc: TcpListener,
    /// The data-entry page (`[entry]`), if the config asks for it.
    pub entry: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    /// gRPC only, no data-entry page.
    fn from(grpc: TcpListener) -> Listeners {
        Listeners { grpc, entry: None }
    }
}

/// Checks that the data-entry page listens on loopback only: officers do
/// not yet sign in to it, so it must not be reachable from the network.
fn check_entry_listen(addr: std::net::SocketAddr) -> Result<(), NodeError> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(NodeError::Config {
            field: "entry.listen",
            reason: format!(
                "{addr} is not a loopback address: the data-entry page serves this PC only \
                 (127.0.0.1) until officers sign in to it"
            ),
        })
    }
}

/// Runs the node on `listeners` until `shutdown` is cancelled, then stops
/// accepting, finishes what is in flight, stops every task and returns.
pub async fn run(
    config: Config,
    listeners: impl Into<Listeners>,
    shutdown: CancellationToken,
) -> Result<(), NodeError> {
    let Listeners {
        grpc: listener,
        entry: entry_listener,
    } = listeners.into();
    if let Some(e) = &config.entry {
        check_entry_listen(e.listen)?;
    }
    if let Some(l) = &entry_listener {
        check_entry_listen(l.local_addr().map_err(|e| NodeError::Config {
            field: "entry.listen",
            reason: e.to_string(),
        })?)?;
    }
    let tls = config.tls.load()?;
    let want = Identity::new(config.unit, Role::Node);
    if tls.identity != want {
        return Err(NodeError::Config {
            field: "tls.cert",
            reason: format!("certificate is {}, expected {want}", tls.identity),
        });
    }
    let history = Arc::new(History::from_path(&config.topology)?);
    let topology = history.topology();
    if !topology.contains(config.unit) {
        return Err(NodeError::Config {
            field: "unit",
            reason: format!("{} is not in {}", config.unit, config.topology.display()),
        });
    }
    let parent = match &config.parent {
        None => None,
        Some(p) => {
            let unit =
                p.unit
                    .or_else(|| history.parent_today(config.unit))
                    .ok_or(NodeError::Config {
                        field: "parent.unit",
                        reason: format!("{} has no parent in the topology", config.unit),
                    })?;
            Some((unit, p.endpoint.clone()))
        }
    };
    let log_dir = config.data_dir.join("log");
    let log = {
        let unit = config.unit;
        let has_parent = parent.is_some();
        let opening = tokio::task::spawn_blocking(move || open_log(&log_dir, unit, has_parent));
        // sled blocks, rather than fails, when it must write at open on a
        // full disk: give up after a while, so the node exits (69) and its
        // supervisor tries again later instead of a start that never ends.
        match tokio::time::timeout(OPEN_TIMEOUT, opening).await {
            Err(_) => {
                return Err(NodeError::Storage(format!(
                    "opening the event log in {} did not finish in {} s (is the disk full?)",
                    config.data_dir.display(),
                    OPEN_TIMEOUT.as_secs()
                )));
            }
            Ok(joined) => joined.map_err(|e| NodeError::Config {
                field: "data_dir",
                reason: format!("opening the log: {e}"),
            })??,
        }
    };
    // The client-reference secret: created on the first start; `client-ref`
    // and `backup` read it from its file.
    // The data-entry page computes references with it; nothing else of the
    // daemon reads it, and it never leaves this process.
    let secret = match client_ref::ClientSecret::load_or_create(&config.data_dir) {
        Ok((s, created)) => {
            if created {
                tracing::info!("created the client-reference secret");
            }
            s
        }
        Err(e) => {
            return Err(NodeError::Config {
                field: "data_dir",
                reason: e.to_string(),
            });
        }
    };
    let ca_der = tls.ca_der()?.to_vec();
    let revocations = revocation::NodeRevocations::open(&config.data_dir, ca_der).map_err(|e| {
        NodeError::Config {
            field: "data_dir",
            reason: e.to_string(),
        }
    })?;
    if log.is_fresh()
        && !config.uplink.record_before_first_contact
        && let Some((unit, _)) = &parent
    {
        // This unit may have recorded before, on a PC since reinstalled:
        // its parent holds that chain. Record only once the parent said
        // what it holds, so no seq is ever assigned twice.
        log.close_until_confirmed(format!(
            "new store: waiting for the parent {unit} to confirm what it holds of this unit's chain"
        ))
        .await?;
    }
    let tasks = TaskTracker::new();
    let ctx = Arc::new(Ctx {
        unit: config.unit,
        history: history.clone(),
        log,
        state: NodeState::default(),
        limits: config.limits.clone(),
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
        started_at: sync178_shared::event::now_ms(),
        parent: parent.clone(),
        revocations: revocations.clone(),
    });
    tasks.spawn(revocations.clone().watch_incoming(shutdown.clone()));
    if let Some((unit, endpoint)) = parent {
        let dialer = tls
            .dialer(
                Identity::new(unit, Role::Node),
                Some(revocations.list().clone()),
            )
            .map_err(|e| NodeError::Config {
                field: "tls",
                reason: e.to_string(),
            })?;
        tasks.spawn(uplink::run(
            ctx.clone(),
            unit,
            endpoint,
            dialer,
            config.uplink.clone(),
        ));
    }
    if let Some(l) = entry_listener {
        tasks.spawn(entry::serve(ctx.clone(), l, secret, shutdown.clone()));
    }
    let check = revocation::refuse_revoked(revocations.list().clone());
    // A refused write stops the log for good (sled cannot be trusted after
    // an IO error): stop the node, so that its supervisor restarts it and
    // the next open settles what reached the disk.
    let failed = ctx.log.failure();
    tasks.spawn({
        let shutdown = shutdown.clone();
        let mut failed = failed.clone();
        async move {
            tokio::select! {
                r = failed.wait_for(Option::is_some) => if r.is_ok() {
                    tracing::error!("the disk refused a write: stopping the node");
                    shutdown.cancel();
                },
                _ = shutdown.cancelled() => {}
            }
        }
    });
    let lim = config.limits.max_message_bytes;
    let addr = listener.local_addr().ok();
    tracing::info!(unit = %ctx.unit, ?addr, log_length = ctx.log.len(), "node serving");
    let served = tonic::transport::Server::builder()
        .tls_config(tls.server_config())?
        .tcp_nodelay(true)
        .http2_keepalive_interval(Some(std::time::Duration::from_secs(30)))
        .add_service(InterceptedService::new(
            IngestServer::new(ingest::IngestService::new(ctx.clone()))
                .max_decoding_message_size(lim)
                .max_encoding_message_size(lim),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            SyncServer::new(sync::SyncService::new(ctx.clone()))
                .max_decoding_message_size(lim)
                .max_encoding_message_size(lim),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            FeedServer::new(feed::FeedService::new(ctx.clone()))
                .max_decoding_message_size(lim)
                .max_encoding_message_size(lim),
            check.clone(),
        ))
        .add_service(InterceptedService::new(
            AdminServer::new(admin::AdminService::new(ctx.clone())),
            check,
        ))
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(listener),
            shutdown.clone().cancelled_owned(),
        )
        .await;
    shutdown.cancel();
    tasks.close();
    tasks.wait().await;
    tracing::info!(unit = %ctx.unit, log_length = ctx.log.len(), "node stopped");
    if let Some(why) = failed.borrow().clone() {
        // sled, after an IO error, blocks forever in the flush it runs when
        // its last handle drops: never drop it, so the process can exit and
        // be restarted. What reached the disk is settled at the next open.
        std::mem::forget(ctx.log.clone());
        return Err(NodeError::Storage(why));
    }
    served.map_err(NodeError::from)
}
