//! sync178-hub: follows a node's feed, keeps projections (roll-ups by unit
//! and period, registries, KPIs against targets) in its own sled, answers the
//! provincial operator's queries, and reconciles tiers and projections.
//!
//! [`run`] is the whole daemon; `main.rs` and the tests call the same function.

pub mod cli;
pub mod config;
pub mod demo;
pub mod follower;
pub mod i18n;
pub mod index;
pub mod kpi;
pub mod query;
pub mod reconcile;
pub mod state;
pub mod store;
pub mod web;
pub mod workload;

use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::Duration;

use sync178_shared::backoff::Backoff;
use sync178_shared::history::{History, HistoryError};
use sync178_shared::proto::v1::query_server::QueryServer;
use sync178_shared::revocation::{Revocations, refuse_revoked};
use sync178_shared::tls::{LoadedTls, Role, TlsError};
use sync178_shared::topology::{Topology, TopologyError};
use sync178_shared::unit::UnitId;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::wrappers::TcpListenerStream;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tonic::service::interceptor::InterceptedService;

pub use config::Config;
use follower::FeedSource;
use state::State;
use store::{Store, StoreError};

/// Why the hub could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// Certificates could not be loaded.
    #[error(transparent)]
    Tls(#[from] TlsError),
    /// The topology could not be loaded.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// The administrative history (listings and merges) could not be loaded.
    #[error(transparent)]
    History(#[from] HistoryError),
    /// The hub's store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The configuration does not fit the certificate or the topology.
    #[error("{field}: {reason}")]
    Config {
        /// The config field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// The gRPC server failed.
    #[error("server: {0}")]
    Serve(#[from] tonic::transport::Error),
    /// The operator web page could not start.
    #[error(transparent)]
    Web(#[from] web::WebError),
}

/// How following the feed is going.
#[derive(Debug, Clone, Default)]
pub struct FollowStatus {
    /// Connected to the node now.
    pub connected: bool,
    /// Last error, for people.
    pub last_error: String,
    /// What the node held when last asked (for lag in events).
    pub node: Option<follower::NodeHeads>,
}

/// A running hub: what the query service, the follower and the web page share.
#[derive(Debug)]
pub struct Hub {
    /// The listings over time, the merges between them.
    pub history: Arc<History>,
    /// The followed node's unit: the root of what the hub sees.
    pub root: UnitId,
    /// Tip-off deadline in days.
    pub deadline_days: u32,
    /// The hub's data folder (the store is in `state/`; the web page's
    /// unlock requests arrive here).
    pub data_dir: std::path::PathBuf,
    state: Arc<RwLock<State>>,
    store: Store,
    /// The checkpoint after every applied batch.
    pub changed: watch::Sender<u64>,
    /// Following status.
    pub follow: Mutex<FollowStatus>,
}

impl Hub {
    /// Every listing's units side by side (the history's union).
    pub fn topology(&self) -> &Topology {
        self.history.topology()
    }

    /// Read access to the state.
    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        follower::read(&self.state)
    }

    /// What the followed node held when last asked.
    pub fn node_heads(&self) -> Option<follower::NodeHeads> {
        self.follow
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .node
            .clone()
    }

    /// Writes the state and its checkpoint.
    pub fn save(&self) -> Result<(), StoreError> {
        // Encoded under the read lock, not copied: queries go on reading, and
        // the follower, the only writer, waits for the save anyway.
        self.store.save(&self.read())
    }

    /// Writes `state` (e.g. rebuilt from the feed) to the store, then makes it
    /// the hub's state; on a failed write the hub keeps the state it had.
    pub fn replace_state(&self, state: State) -> Result<(), StoreError> {
        self.store.save(&state)?;
        let checkpoint = state.checkpoint;
        *self.state.write().unwrap_or_else(|p| p.into_inner()) = state;
        self.changed.send_replace(checkpoint);
        Ok(())
    }
}

/// Checks the certificate and topology, opens the store: a hub ready to follow.
pub fn open(config: &Config) -> Result<(Arc<Hub>, LoadedTls), HubError> {
    let tls = config.tls.load()?;
    if tls.identity.role != Role::Hub {
        return Err(HubError::Config {
            field: "tls.cert",
            reason: format!("certificate is {}, expected role hub", tls.identity),
        });
    }
    let history = Arc::new(History::from_path(&config.topology)?);
    if !history.topology().contains(config.node.unit) {
        return Err(HubError::Config {
            field: "node.unit",
            reason: format!(
                "{} is not in {}",
                config.node.unit,
                config.topology.display()
            ),
        });
    }
    let store = Store::open(
        &config.data_dir.join("state"),
        &config.node.unit.to_string(),
    )?;
    let mut state = store.load()?;
    if !state.is_built_with(&history) {
        if state.checkpoint > 0 {
            tracing::warn!(
                checkpoint = state.checkpoint,
                "the state was built with other listings or merges: rebuilding it from the feed"
            );
        }
        state = State::new(&history);
    }
    let (changed, _) = watch::channel(state.checkpoint);
    let hub = Arc::new(Hub {
        history,
        root: config.node.unit,
        deadline_days: config.tipoff_deadline_days,
        data_dir: config.data_dir.clone(),
        state: Arc::new(RwLock::new(state)),
        store,
        changed,
        follow: Mutex::new(FollowStatus::default()),
    });
    Ok((hub, tls))
}

/// Runs the hub on `listener` (gRPC `Query`) until `shutdown`, following the
/// node's feed; saves the state on the way out.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), HubError> {
    let (hub, tls) = open(&config)?;
    run_with(hub, tls, config, listener, shutdown).await
}

/// [`run`] for a hub already opened (the demo and the web page open it first).
pub async fn run_with(
    hub: Arc<Hub>,
    tls: LoadedTls,
    config: Config,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<(), HubError> {
    let tasks = TaskTracker::new();
    let revocations = Revocations::new(tls.ca_der()?.to_vec());
    if let Some(web_config) = config.web.clone() {
        let web_listener = TcpListener::bind(web_config.listen)
            .await
            .map_err(|source| web::WebError::Bind {
                addr: web_config.listen,
                source,
            })?;
        let page = web::WebServer::new(
            hub.clone(),
            web_listener,
            &web_config,
            Some(tls.clone()),
            shutdown.clone(),
        )?;
        let stop = shutdown.clone();
        tasks.spawn(async move {
            if let Err(e) = page.run().await {
                tracing::error!(error = %e, "web page failed; stopping the hub");
                stop.cancel();
            }
        });
    }
    tasks.spawn(follow(
        hub.clone(),
        tls.clone(),
        config.clone(),
        revocations.clone(),
        shutdown.clone(),
    ));
    tracing::info!(node = %config.node.unit, addr = ?listener.local_addr().ok(), checkpoint = hub.read().checkpoint, "hub serving");
    let served = tonic::transport::Server::builder()
        .tls_config(tls.server_config())?
        .add_service(InterceptedService::new(
            query::QueryService::new(hub.clone()).into_server(),
            refuse_revoked(revocations),
        ))
        .serve_with_incoming_shutdown(
            TcpListenerStream::new(listener),
            shutdown.clone().cancelled_owned(),
        )
        .await;
    shutdown.cancel();
    tasks.close();
    tasks.wait().await;
    hub.save()?;
    tracing::info!(
        checkpoint = hub.read().checkpoint,
        "hub stopped; state saved"
    );
    served.map_err(HubError::from)
}

impl query::QueryService {
    /// The tonic server for this service.
    pub fn into_server(self) -> QueryServer<query::QueryService> {
        QueryServer::new(self)
    }
}

/// A feed session connected at least this long was a good one: the next
/// reconnect starts again from the shortest delay.
const GOOD_SESSION: Duration = Duration::from_secs(2);

/// The delay before the next reconnect, given how long the session that just
/// ended was connected (`None`: it never connected). A good session resets
/// the backoff, so a long-lived hub does not wait ever longer after each
/// restart of its node.
fn reconnect_delay(backoff: &mut Backoff, connected_for: Option<Duration>) -> Duration {
    if connected_for.is_some_and(|d| d >= GOOD_SESSION) {
        backoff.reset();
    }
    backoff.next_delay()
}

/// Follows the node's feed until `shutdown`, reconnecting with backoff.
async fn follow(
    hub: Arc<Hub>,
    tls: LoadedTls,
    config: Config,
    revocations: Revocations,
    shutdown: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
    let every = Duration::from_millis(config.snapshot_every_ms);
    while !shutdown.is_cancelled() {
        let mut connected_at: Option<std::time::Instant> = None;
        let result = async {
            let mut source = FeedSource::connect_with(
                &config.node.endpoint,
                &tls,
                config.node.unit,
                Some(revocations.clone()),
            )
            .await?;
            connected_at = Some(std::time::Instant::now());
            set_follow(&hub, true, String::new());
            let h = hub.clone();
            let save = move || -> futures::future::BoxFuture<'static, ()> {
                let h = h.clone();
                Box::pin(async move {
                    let r = tokio::task::spawn_blocking(move || h.save()).await;
                    if let Ok(Err(e)) = r {
                        tracing::error!(error = %e, "saving hub state failed");
                    }
                })
            };
            let h2 = hub.clone();
            let on_applied = move |c: u64| {
                h2.changed.send_replace(c);
            };
            let h3 = hub.clone();
            let on_heads = move |heads: follower::NodeHeads| {
                h3.follow.lock().unwrap_or_else(|p| p.into_inner()).node = Some(heads);
            };
            let hooks = follower::Hooks {
                save: &save,
                on_applied: &on_applied,
                on_heads: &on_heads,
            };
            follower::follow_once(
                &mut source,
                &hub.history,
                &hub.state,
                every,
                &hooks,
                &shutdown,
            )
            .await
        }
        .await;
        match result {
            Ok(()) => break,
            Err(e) => {
                tracing::warn!(error = %e, "feed lost; reconnecting");
                set_follow(&hub, false, e.to_string());
            }
        }
        let delay = reconnect_delay(&mut backoff, connected_at.map(|t| t.elapsed()));
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = shutdown.cancelled() => break,
        }
    }
    set_follow(&hub, false, String::new());
}

fn set_follow(hub: &Hub, connected: bool, error: String) {
    let mut f = hub.follow.lock().unwrap_or_else(|p| p.into_inner());
    f.connected = connected;
    if !error.is_empty() {
        f.last_error = error;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_feed_session_resets_the_reconnect_backoff() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_secs(10));
        // Three restarts of the node in a row, each refused at connect.
        for _ in 0..6 {
            reconnect_delay(&mut b, None);
        }
        assert!(reconnect_delay(&mut b, None) >= Duration::from_millis(3200));
        // A session that connected but fell at once is no reason to hurry.
        assert!(reconnect_delay(&mut b, Some(Duration::from_millis(50))) >= Duration::from_secs(5));
        // After a good session the hub reconnects within the shortest delay.
        assert!(reconnect_delay(&mut b, Some(GOOD_SESSION)) <= Duration::from_millis(100));
        assert!(reconnect_delay(&mut b, None) <= Duration::from_millis(200));
    }
}
