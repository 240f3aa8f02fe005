//! `Admin.Status`: what the node holds, what its parent has, and why a link
//! is stalled; `Admin.Verify`: a whole-log check of every invariant;
//! `Admin.Backup`: every event held, for `sync178-node backup`.

use std::sync::Arc;

use sync178_shared::log::LogError;
use sync178_shared::proto::v1::admin_server::Admin;
use sync178_shared::proto::v1::{
    BackupChunk, BackupRequest, LinkState, OriginStatus, Retirement, StatusRequest, StatusResponse,
    UplinkStatus, VerifyRequest, VerifyResponse,
};
use sync178_shared::tls::{Role, peer_identity};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Request, Response, Status};

use crate::Ctx;

/// The admin service of one node.
#[derive(Debug, Clone)]
pub struct AdminService {
    ctx: Arc<Ctx>,
    /// One whole-log verification at a time; others wait their turn.
    verifying: Arc<tokio::sync::Mutex<()>>,
}

impl AdminService {
    /// Serves status for the node behind `ctx`.
    pub(crate) fn new(ctx: Arc<Ctx>) -> AdminService {
        AdminService {
            ctx,
            verifying: Arc::default(),
        }
    }
}

/// Verifies the log of the node behind `ctx` (blocking: reads every event).
pub(crate) fn verify(ctx: &Ctx) -> Result<VerifyResponse, LogError> {
    let started = std::time::Instant::now();
    let result = ctx.log.verify();
    let took_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let unit = ctx.unit.to_string();
    match result {
        Ok(r) => Ok(VerifyResponse {
            unit,
            ok: true,
            events: r.events,
            origins: r.origins as u64,
            took_ms,
            ..VerifyResponse::default()
        }),
        Err(LogError::Corrupt { at, reason }) => {
            tracing::error!(%at, %reason, "the log does not verify");
            Ok(VerifyResponse {
                unit,
                ok: false,
                at,
                problem: reason,
                took_ms,
                ..VerifyResponse::default()
            })
        }
        Err(e) => Err(e),
    }
}

/// Whether the node may be retired, for a unit of a listing no longer in
/// force: its parent holds everything (`backlog` 0, as acknowledged).
fn retirement(ctx: &Ctx, backlog: u64, confirmed: bool) -> Option<Retirement> {
    let history = &ctx.history;
    if !history.is_retired(ctx.unit) {
        return None;
    }
    let until = history
        .listing(ctx.unit.edition())
        .and_then(|l| l.until())
        .map(sync178_shared::period::format_date)
        .unwrap_or_default();
    Some(Retirement {
        until,
        parent: ctx
            .parent
            .as_ref()
            .map(|(p, _)| p.to_string())
            .unwrap_or_default(),
        not_held: backlog,
        confirmed,
    })
}

/// The status of the node behind `ctx`.
pub(crate) fn status(ctx: &Ctx) -> StatusResponse {
    let heads = ctx.log.heads();
    let (uplink, acked, stalled) = ctx.state.uplink(|u| {
        let acked = u.acked.clone();
        let stalled = u.stalled.clone();
        (u.clone(), acked, stalled)
    });
    let mut backlog = 0u64;
    let origins = heads
        .iter()
        .map(|(o, h)| {
            let parent_seq = acked.get(o).map_or(0, |(s, _)| *s);
            backlog += h.seq.saturating_sub(parent_seq);
            OriginStatus {
                origin: o.to_string(),
                seq: h.seq,
                hash: h.hash.to_vec(),
                parent_seq,
                stalled: stalled.get(o).map(|s| s.reason.clone()).unwrap_or_default(),
            }
        })
        .collect();
    let uplink = match &ctx.parent {
        None => UplinkStatus {
            state: LinkState::NoParent as i32,
            ..UplinkStatus::default()
        },
        Some((parent, endpoint)) => UplinkStatus {
            parent: parent.to_string(),
            endpoint: endpoint.clone(),
            state: uplink.state as i32,
            last_error: uplink.last_error,
            last_error_at: uplink.last_error_at,
            connected_since: uplink.connected_since,
            last_ack_at: uplink.last_ack_at,
            backlog,
            reconnects: uplink.reconnects,
            recovered: uplink.recovered,
        },
    };
    let confirmed = ctx.parent.is_some() && uplink.state == LinkState::Live as i32;
    StatusResponse {
        unit: ctx.unit.to_string(),
        name: ctx
            .history
            .topology()
            .name(ctx.unit)
            .unwrap_or_default()
            .to_string(),
        log_length: ctx.log.len(),
        origins,
        uplink: Some(uplink),
        children: ctx.state.children(),
        started_at: ctx.started_at,
        version: env!("CARGO_PKG_VERSION").to_string(),
        revocation_number: ctx.revocations.list().number(),
        revocation_error: ctx.revocations.last_error(),
        recording_closed: ctx.log.gate().map(|g| g.reason).unwrap_or_default(),
        store_notices: ctx.log.notices().to_vec(),
        retirement: retirement(ctx, backlog, confirmed),
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn status(
        &self,
        req: Request<StatusRequest>,
    ) -> Result<Response<StatusResponse>, Status> {
        let peer = peer_identity(&req)?;
        let allowed = match peer.role {
            Role::Operator | Role::Hub | Role::Node => true,
            Role::Recorder => peer.unit == self.ctx.unit,
        };
        if !allowed {
            return Err(Status::permission_denied(format!(
                "{peer} may not read the status of {}",
                self.ctx.unit
            )));
        }
        Ok(Response::new(status(&self.ctx)))
    }

    async fn verify(
        &self,
        req: Request<VerifyRequest>,
    ) -> Result<Response<VerifyResponse>, Status> {
        let peer = peer_identity(&req)?;
        if peer.role != Role::Operator {
            return Err(Status::permission_denied(format!(
                "verifying the log of {} is for operators; the certificate is {peer}",
                self.ctx.unit
            )));
        }
        let _turn = self.verifying.lock().await;
        tracing::info!(%peer, "verifying the whole log");
        let ctx = self.ctx.clone();
        let r = tokio::task::spawn_blocking(move || verify(&ctx))
            .await
            .map_err(|e| Status::internal(format!("verification stopped: {e}")))?
            .map_err(|e| Status::internal(format!("reading the log: {e}")))?;
        Ok(Response::new(r))
    }

    type BackupStream = ReceiverStream<Result<BackupChunk, Status>>;

    async fn backup(
        &self,
        req: Request<BackupRequest>,
    ) -> Result<Response<Self::BackupStream>, Status> {
        let peer = peer_identity(&req)?;
        let allowed = match peer.role {
            Role::Operator => true,
            Role::Node => peer.unit == self.ctx.unit,
            Role::Recorder | Role::Hub => false,
        };
        if !allowed {
            return Err(Status::permission_denied(format!(
                "a backup of {} is for operators or the node's own certificate; the certificate is {peer}",
                self.ctx.unit
            )));
        }
        let log = self.ctx.log.clone();
        let total = log.len();
        tracing::info!(%peer, events = total, "backup");
        let (tx, rx) = mpsc::channel(4);
        let unit = self.ctx.unit.to_string();
        self.ctx.tasks.spawn_blocking(move || {
            let mut pos = 0u64;
            let mut first = true;
            while pos < total || first {
                let events = match log.read(pos, 1000, 4 << 20) {
                    Ok(items) => items
                        .into_iter()
                        .filter(|(p, _)| *p < total)
                        .map(|(_, b)| b)
                        .collect::<Vec<_>>(),
                    Err(e) => {
                        let _ = tx.blocking_send(Err(Status::internal(format!(
                            "reading position {pos}: {e}"
                        ))));
                        return;
                    }
                };
                pos += events.len() as u64;
                let chunk = BackupChunk {
                    unit: if first { unit.clone() } else { String::new() },
                    events_total: if first { total } else { 0 },
                    events,
                };
                first = false;
                if tx.blocking_send(Ok(chunk)).is_err() {
                    return;
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }
}
