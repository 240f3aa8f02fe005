//! `Ingest.Submit`: recorders of this unit append events to the node's own chain.

use std::collections::HashSet;
use std::sync::Arc;

use sync178_shared::event::{self, new_id, now_ms};
use sync178_shared::i18n::{Lang, Localized};
use sync178_shared::log::LogError;
use sync178_shared::proto::v1::ingest_server::Ingest;
use sync178_shared::proto::v1::{Accepted, Event, Rejection, SubmitRequest, SubmitResponse};
use sync178_shared::tls::{Role, peer_identity};
use sync178_shared::unit::UnitId;
use sync178_shared::validate::{self, CURRENT_SCHEMA, Context};
use tonic::{Request, Response, Status};

use crate::Ctx;

/// The ingest service of one node.
#[derive(Debug, Clone)]
pub struct IngestService {
    ctx: Arc<Ctx>,
}

impl IngestService {
    /// Serves ingest for the node behind `ctx`.
    pub(crate) fn new(ctx: Arc<Ctx>) -> IngestService {
        IngestService { ctx }
    }
}

#[tonic::async_trait]
impl Ingest for IngestService {
    #[tracing::instrument(skip_all, fields(unit = %self.ctx.unit, batch))]
    async fn submit(
        &self,
        req: Request<SubmitRequest>,
    ) -> Result<Response<SubmitResponse>, Status> {
        let ctx = &self.ctx;
        let peer = peer_identity(&req)?;
        if peer.role != Role::Recorder || peer.unit != ctx.unit {
            tracing::warn!(%peer, "submit refused: not a recorder of this unit");
            return Err(Status::permission_denied(format!(
                "only recorders of {} may submit here; the certificate is {peer}",
                ctx.unit
            )));
        }
        let events = req.into_inner().events;
        tracing::Span::current().record("batch", events.len());
        if events.len() > ctx.limits.max_batch_events {
            return Err(Status::invalid_argument(format!(
                "batch of {} events is over the limit of {}",
                events.len(),
                ctx.limits.max_batch_events
            )));
        }
        record(ctx, events).await.map(Response::new)
    }
}

/// Records a recorder's drafts: waits a little while recording is closed,
/// validates every draft (one rejection per bad one, nothing stored), then
/// appends them as one batch. The one path of `Ingest.Submit` and the
/// data-entry page.
pub(crate) async fn record(ctx: &Ctx, mut events: Vec<Event>) -> Result<SubmitResponse, Status> {
    let log = &ctx.log;
    wait_for_gate(ctx).await;
    let rejected = check_drafts(ctx, &mut events);
    if !rejected.is_empty() {
        tracing::info!(rejected = rejected.len(), "submit refused: invalid events");
        return Ok(SubmitResponse {
            accepted: vec![],
            rejected,
        });
    }
    match log.append_own(events).await {
        Ok(appended) => {
            let origin = ctx.unit.to_string();
            if let Some(last) = appended.last() {
                tracing::debug!(seq = last.seq, "submit appended");
            }
            Ok(SubmitResponse {
                accepted: appended
                    .into_iter()
                    .map(|a| Accepted {
                        id: a.id.to_vec(),
                        origin: origin.clone(),
                        seq: a.seq,
                        position: a.position,
                        hash: a.hash.to_vec(),
                        duplicate: a.duplicate,
                    })
                    .collect(),
                rejected: vec![],
            })
        }
        Err(LogError::Rejected { index, reason }) => Ok(SubmitResponse {
            accepted: vec![],
            rejected: vec![Rejection {
                index: index as u32,
                field: "event".into(),
                // An internal check behind validation's: English only.
                reason,
                reason_vi: String::new(),
            }],
        }),
        Err(LogError::Conflict { index, id, seq }) => {
            tracing::warn!(%id, seq, "submit refused: id reused with different content");
            Ok(SubmitResponse {
                accepted: vec![],
                rejected: vec![Rejection {
                    index: index as u32,
                    field: "id".into(),
                    reason: format!(
                        "conflict: id {id} is already stored as seq {seq} with different content; \
                         a retry must send the same event, a new event needs a new id"
                    ),
                    reason_vi: format!(
                        "trùng mã: mã {id} đã được lưu (số thứ tự {seq}) với nội dung khác; \
                         gửi lại thì phải gửi đúng sự kiện đó, sự kiện mới cần mã mới"
                    ),
                }],
            })
        }
        Err(e @ LogError::Gated(_)) => {
            tracing::warn!(error = %e, "submit refused: recording is closed");
            Err(Status::unavailable(e.to_string()))
        }
        Err(e) => {
            tracing::error!(error = %e, "submit failed in the log");
            Err(Status::unavailable(format!("event log: {e}")))
        }
    }
}

/// How long a submit waits for a closed own chain to reopen (a new store
/// waiting for its parent's first answer) before it is refused.
const GATE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Waits (a little) while recording is closed; the log refuses if it stays so.
async fn wait_for_gate(ctx: &Ctx) {
    let mut gate = ctx.log.subscribe_gate();
    let _ = tokio::time::timeout(GATE_WAIT, gate.wait_for(Option::is_none)).await;
}

/// Validates every draft and fills what the node assigns before the log
/// (id if absent, schema, recorded_at); returns one rejection per bad draft.
///
/// A void or correction may target an earlier event of the same request:
/// its target is looked up among those first, then in the log (the log's
/// writer fills in `target_seq` once it has given the target its seq).
fn check_drafts(ctx: &Ctx, events: &mut [sync178_shared::proto::v1::Event]) -> Vec<Rejection> {
    let today = crate::today();
    // Ids of the drafts before the one being checked.
    let mut earlier: HashSet<Vec<u8>> = HashSet::new();
    let mut rejected = Vec::new();
    let recorded_at = now_ms();
    for (index, ev) in events.iter_mut().enumerate() {
        let lookup = |id: &[u8]| -> Option<UnitId> {
            if earlier.contains(id) {
                return Some(ctx.unit);
            }
            let id: event::EventId = id.try_into().ok()?;
            // Only own events are indexed by id: a hit is of our origin.
            ctx.log.get_by_id(&id).ok().flatten().map(|_| ctx.unit)
        };
        let vctx = Context {
            history: &ctx.history,
            origin: ctx.unit,
            today,
            target_origin: Some(&lookup),
        };
        let checked = validate::validate_draft(ev, &vctx);
        if !ev.id.is_empty() {
            earlier.insert(ev.id.clone());
        }
        if let Err(e) = checked {
            rejected.push(Rejection {
                index: index as u32,
                reason: e.reason.to_string(),
                reason_vi: e.reason.text(Lang::Vi),
                field: e.field,
            });
            continue;
        }
        if ev.id.is_empty() {
            ev.id = new_id().to_vec();
        }
        fill_target_seq(ctx, ev);
        if ev.schema == 0 {
            ev.schema = CURRENT_SCHEMA;
        }
        ev.recorded_at = recorded_at;
    }
    rejected
}

/// Sets the target's seq in a void or correction (validation has checked the
/// target is an own event), so a hub can fetch the target by (origin, seq).
fn fill_target_seq(ctx: &Ctx, ev: &mut sync178_shared::proto::v1::Event) {
    use sync178_shared::proto::v1::body::Kind;
    let seq_of = |id: &[u8]| -> u64 {
        <event::EventId>::try_from(id)
            .ok()
            .and_then(|id| ctx.log.get_by_id(&id).ok().flatten())
            .and_then(|(_, bytes)| event::peek(&bytes).ok())
            .map_or(0, |h| h.seq)
    };
    match ev.body.as_mut().and_then(|b| b.kind.as_mut()) {
        Some(Kind::EventVoided(v)) => v.target_seq = seq_of(&v.target_id),
        Some(Kind::EventCorrected(c)) => c.target_seq = seq_of(&c.target_id),
        _ => {}
    }
}
