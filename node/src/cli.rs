//! The library side of the `submit`, `status` and `certs` commands: NDJSON parsing, the mutual-TLS client, chunked submission and the reports people read.

use std::fmt::Write as _;
use std::io::Read as _;
use std::path::Path;
use std::time::Duration;

use prost::Message as _;
use sync178_shared::exit;
use sync178_shared::proto::v1::admin_client::AdminClient;
use sync178_shared::proto::v1::ingest_client::IngestClient;
use sync178_shared::proto::v1::{
    Event, LinkState, StatusRequest, StatusResponse, SubmitRequest, SubmitResponse, VerifyRequest,
    VerifyResponse,
};
use sync178_shared::tls::{Identity, Role, TlsError, TlsFiles};
use sync178_shared::unit::UnitId;
use tonic::transport::Channel;

use crate::certs::IssueReport;
use crate::i18n::{self, Lang, Msg, t};
use crate::numbers::BadNumber;

/// Most events sent in one `Ingest.Submit` request (the node's default batch limit).
pub const CHUNK_EVENTS: usize = 1000;
/// Most encoded event bytes in one request, safely under the node's default
/// 4 MiB message limit.
pub const CHUNK_BYTES: usize = 3 << 20;
/// How long to wait for the TCP and TLS handshake.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a whole-log verification may take.
pub const VERIFY_TIMEOUT: Duration = Duration::from_secs(3600);

/// Why a command could not do its job.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The input file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file, or `-` for standard input.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate files could not be loaded.
    #[error("certificates: {0}")]
    Tls(#[from] TlsError),
    /// The endpoint is not a usable URL.
    #[error("endpoint {endpoint}: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The connection or the TLS handshake failed.
    #[error("cannot connect to {endpoint} (verifying node {server}): {cause}")]
    Connect {
        /// The endpoint as given.
        endpoint: String,
        /// The node identity the server certificate was checked against.
        server: UnitId,
        /// The error and its sources, joined by `: `.
        cause: String,
    },
    /// The node answered the call with an error.
    #[error("{endpoint}: {}", status_line(.status))]
    Call {
        /// The endpoint as given.
        endpoint: String,
        /// What the node (or the transport) said.
        status: tonic::Status,
    },
}

impl CliError {
    /// The process exit code for this error (sysexits).
    pub fn exit_code(&self) -> u8 {
        use tonic::Code;
        match self {
            CliError::Read { source, .. } if source.kind() == std::io::ErrorKind::InvalidData => {
                exit::DATAERR
            }
            CliError::Read { .. } => exit::NOINPUT,
            CliError::Tls(_) | CliError::Endpoint { .. } => exit::USAGE,
            CliError::Connect { .. } => exit::UNAVAILABLE,
            CliError::Call { status, .. } => match status.code() {
                Code::PermissionDenied | Code::Unauthenticated => exit::NOPERM,
                Code::InvalidArgument | Code::OutOfRange | Code::FailedPrecondition => {
                    exit::DATAERR
                }
                _ => exit::UNAVAILABLE,
            },
        }
    }

    /// Whether the call may have been carried out although it failed (a
    /// timeout or a broken connection after the request was sent).
    pub fn outcome_unknown(&self) -> bool {
        use tonic::Code;
        matches!(
            self,
            CliError::Call { status, .. } if matches!(
                status.code(),
                Code::Unknown | Code::DeadlineExceeded | Code::Cancelled | Code::Internal | Code::Unavailable
            )
        )
    }

    /// The error as one line in `lang` (causes and server messages stay as they are).
    pub fn render(&self, lang: Lang) -> String {
        match self {
            CliError::Read { path, source } => i18n::cannot_read(lang, path, source),
            CliError::Tls(e) => i18n::bad_certificates(lang, e),
            CliError::Endpoint { endpoint, reason } => i18n::bad_endpoint(lang, endpoint, reason),
            CliError::Connect {
                endpoint,
                server,
                cause,
            } => i18n::cannot_connect(lang, endpoint, *server, cause),
            CliError::Call { endpoint, status } => {
                i18n::call_failed(lang, endpoint, &status_line(status))
            }
        }
    }
}

/// `Code: message` plus the transport causes of a status, on one line.
fn status_line(status: &tonic::Status) -> String {
    let mut s = format!("{:?}: {}", status.code(), status.message());
    let mut source = std::error::Error::source(status);
    while let Some(e) = source {
        let _ = write!(s, ": {e}");
        source = e.source();
    }
    s
}

/// An error and its sources, joined by `: `, without repeating a cause that
/// its parent already printed.
fn cause_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(e) = source {
        let part = e.to_string();
        if !s.contains(&part) {
            let _ = write!(s, ": {part}");
        }
        source = e.source();
    }
    s
}

// ------------------------------------------------------------------ input

/// A line of the NDJSON input that is not a valid event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// 1-based line number in the input.
    pub line: usize,
    /// 1-based column (byte) where the parser stopped; 0 when unknown.
    pub column: usize,
    /// The JSON field path at fault (`body.awareness_activity_held.form`);
    /// empty when the line itself is at fault.
    pub field: String,
    /// What the JSON parser said (for a bad number, the reason in English).
    pub message: String,
    /// The field is a number and held something else.
    pub number: Option<BadNumber>,
}

impl LineError {
    /// `line N: field: message (column C)` with the words in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        let mut s = format!("{} {}: ", t(lang, Msg::Line), self.line);
        if !self.field.is_empty() {
            let _ = write!(s, "{}: ", self.field);
        }
        match &self.number {
            Some(n) => s.push_str(&n.render(lang)),
            None => s.push_str(&self.message),
        }
        if self.column > 0 {
            let _ = write!(s, " ({} {})", t(lang, Msg::Column), self.column);
        }
        s
    }
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

/// Parses NDJSON events: one JSON object per line in the proto3 canonical
/// JSON mapping; blank lines and lines starting with `#` are skipped. Returns
/// every event with its 1-based line number, or an error for every bad line.
pub fn parse_ndjson(text: &str) -> Result<Vec<(usize, Event)>, Vec<LineError>> {
    // Editors on Windows like to start UTF-8 files with a byte-order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut events = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut de = serde_json::Deserializer::from_str(raw);
        let parsed = match serde_path_to_error::deserialize::<_, Event>(&mut de) {
            Ok(ev) => de
                .end()
                .map(|()| ev)
                .map_err(|e| line_error(line, String::new(), &e)),
            Err(e) => {
                let mut le = line_error(line, e.path().to_string(), e.inner());
                le.number = crate::numbers::explain(raw, e.path(), &le.message);
                if let Some(n) = &le.number {
                    le.message = n.render(Lang::En);
                }
                Err(le)
            }
        };
        match parsed {
            Ok(ev) => events.push((line, ev)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        Ok(events)
    } else {
        Err(errors)
    }
}

/// A [`LineError`] from what serde_json said about `line`, with the field
/// path serde_path_to_error tracked (`.` for the line itself).
fn line_error(line: usize, path: String, e: &serde_json::Error) -> LineError {
    let mut message = e.to_string();
    // serde_json appends the position; within one line only the column matters.
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    if let Some(m) = message.strip_suffix(&suffix) {
        message = m.to_owned();
    }
    // pbjson's enum visitors say "expected one of" after serde's own "expected".
    message = message.replace("expected expected ", "expected ");
    LineError {
        line,
        column: e.column(),
        field: if path == "." { String::new() } else { path },
        message,
        number: None,
    }
}

/// Reads the whole input: the file at `path`, or standard input for `-`.
pub fn read_input(path: &Path) -> Result<String, CliError> {
    let err = |source| CliError::Read {
        path: path.display().to_string(),
        source,
    };
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(err)?;
        Ok(s)
    } else {
        std::fs::read_to_string(path).map_err(err)
    }
}

// ------------------------------------------------------------- connection

/// Opens a mutual-TLS channel to the node at `endpoint` with the certificate
/// in `tls`. The server must present the `node` certificate of `node`, or of
/// the unit of our own certificate when `node` is `None` (a recorder submits
/// to its own node).
pub async fn connect(
    endpoint: &str,
    tls: &TlsFiles,
    node: Option<UnitId>,
) -> Result<Channel, CliError> {
    connect_for(endpoint, tls, node, CALL_TIMEOUT).await
}

/// [`connect`] to a hub: the server must present the `hub` certificate of
/// `unit` (or of our own certificate's unit).
pub async fn connect_hub(
    endpoint: &str,
    tls: &TlsFiles,
    unit: Option<UnitId>,
) -> Result<Channel, CliError> {
    connect_role(endpoint, tls, unit, Role::Hub, CALL_TIMEOUT).await
}

/// [`connect`], with calls allowed up to `call_timeout` (a whole-log
/// verification of a province reads millions of events).
pub async fn connect_for(
    endpoint: &str,
    tls: &TlsFiles,
    node: Option<UnitId>,
    call_timeout: Duration,
) -> Result<Channel, CliError> {
    connect_role(endpoint, tls, node, Role::Node, call_timeout).await
}

async fn connect_role(
    endpoint: &str,
    tls: &TlsFiles,
    node: Option<UnitId>,
    role: Role,
    call_timeout: Duration,
) -> Result<Channel, CliError> {
    let loaded = tls.load()?;
    let server = node.unwrap_or(loaded.identity.unit);
    let bad = |reason: String| CliError::Endpoint {
        endpoint: endpoint.to_owned(),
        reason,
    };
    if !endpoint.starts_with("https://") {
        return Err(bad(
            "must be an https:// URL (every link is mutual TLS)".to_owned()
        ));
    }
    let dialer = loaded
        .dialer(Identity::new(server, role), None)
        .map_err(|e| bad(e.to_string()))?;
    let ep = dialer
        .endpoint(endpoint)
        .map_err(|e| bad(e.to_string()))?
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(call_timeout);
    dialer.connect(ep).await.map_err(|e| CliError::Connect {
        endpoint: endpoint.to_owned(),
        server,
        cause: cause_chain(&e),
    })
}

/// Calls `Admin.Status`.
pub async fn status(channel: Channel, endpoint: &str) -> Result<StatusResponse, CliError> {
    AdminClient::new(channel)
        .status(StatusRequest {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| CliError::Call {
            endpoint: endpoint.to_owned(),
            status,
        })
}

/// Asks the node behind `channel` to verify its whole log.
pub async fn verify(channel: Channel, endpoint: &str) -> Result<VerifyResponse, CliError> {
    AdminClient::new(channel)
        .verify(VerifyRequest {})
        .await
        .map(tonic::Response::into_inner)
        .map_err(|status| CliError::Call {
            endpoint: endpoint.to_owned(),
            status,
        })
}

// ----------------------------------------------------------------- submit

/// A refused event, mapped back to its input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRejection {
    /// 1-based line of the input; 0 when the node named an index outside the request.
    pub line: usize,
    /// The field at fault, as the node named it.
    pub field: String,
    /// Why, as the node said it, in English.
    pub reason: String,
    /// Why, in Vietnamese (empty from a node that predates it).
    pub reason_vi: String,
}

impl LineRejection {
    /// Why, in `lang` (English when the node gave no Vietnamese).
    pub fn reason(&self, lang: Lang) -> &str {
        if lang == Lang::Vi && !self.reason_vi.is_empty() {
            &self.reason_vi
        } else {
            &self.reason
        }
    }
}

/// What happened to one request.
#[derive(Debug)]
pub enum ChunkResult {
    /// The node stored the chunk (or already held it).
    Applied(SubmitResponse),
    /// The node refused the chunk; nothing of it was applied.
    Refused {
        /// The response as received.
        response: SubmitResponse,
        /// Its rejections, mapped to input lines.
        rejections: Vec<LineRejection>,
    },
    /// The call failed.
    Failed(CliError),
}

/// One request of a submission.
#[derive(Debug)]
pub struct ChunkReport {
    /// First and last input line of the chunk.
    pub lines: (usize, usize),
    /// Events in the chunk.
    pub events: usize,
    /// What happened.
    pub result: ChunkResult,
}

/// What [`submit`] did.
#[derive(Debug)]
pub struct SubmitOutcome {
    /// Events parsed from the input.
    pub events: usize,
    /// Chunks the input was split into.
    pub planned: usize,
    /// The chunks sent, in order; sending stops at the first one not applied.
    pub chunks: Vec<ChunkReport>,
    /// First and last line of what was not sent after a stop.
    pub unsent: Option<(usize, usize)>,
}

impl SubmitOutcome {
    /// Whether every event was applied.
    pub fn is_success(&self) -> bool {
        self.chunks.len() == self.planned
            && self
                .chunks
                .iter()
                .all(|c| matches!(c.result, ChunkResult::Applied(_)))
    }

    /// The process exit code: 0, [`exit::DATAERR`] for a refusal, or the
    /// failed call's code.
    pub fn exit_code(&self) -> u8 {
        match self.chunks.last().map(|c| &c.result) {
            None | Some(ChunkResult::Applied(_)) => 0,
            Some(ChunkResult::Refused { .. }) => exit::DATAERR,
            Some(ChunkResult::Failed(e)) => e.exit_code(),
        }
    }
}

/// Splits `events` into requests of at most [`CHUNK_EVENTS`] events and
/// [`CHUNK_BYTES`] encoded bytes (an event larger than that goes alone).
pub fn plan_chunks(events: &[(usize, Event)]) -> Vec<std::ops::Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0;
    for (i, (_, ev)) in events.iter().enumerate() {
        let n = ev.encoded_len() + 8;
        if i > start && (i - start == CHUNK_EVENTS || bytes + n > CHUNK_BYTES) {
            chunks.push(start..i);
            start = i;
            bytes = 0;
        }
        bytes += n;
    }
    if start < events.len() {
        chunks.push(start..events.len());
    }
    chunks
}

/// Sends `events` to the node behind `channel` in one `Ingest.Submit`
/// request, or in chunks (see [`plan_chunks`]) when there are more than
/// [`CHUNK_EVENTS`]; stops at the first chunk that is refused or fails.
pub async fn submit(
    channel: Channel,
    endpoint: &str,
    events: Vec<(usize, Event)>,
) -> SubmitOutcome {
    let plan = plan_chunks(&events);
    let mut client = IngestClient::new(channel)
        .max_decoding_message_size(64 << 20)
        .max_encoding_message_size(64 << 20);
    let mut outcome = SubmitOutcome {
        events: events.len(),
        planned: plan.len(),
        chunks: Vec::with_capacity(plan.len()),
        unsent: None,
    };
    for range in plan {
        let chunk = &events[range.clone()];
        let lines = (
            chunk.first().map_or(0, |(l, _)| *l),
            chunk.last().map_or(0, |(l, _)| *l),
        );
        let request = SubmitRequest {
            events: chunk.iter().map(|(_, ev)| ev.clone()).collect(),
        };
        let result = match client.submit(request).await {
            Err(status) => ChunkResult::Failed(CliError::Call {
                endpoint: endpoint.to_owned(),
                status,
            }),
            Ok(resp) => {
                let response = resp.into_inner();
                if response.rejected.is_empty() {
                    ChunkResult::Applied(response)
                } else {
                    let rejections = response
                        .rejected
                        .iter()
                        .map(|r| LineRejection {
                            line: chunk.get(r.index as usize).map_or(0, |(l, _)| *l),
                            field: r.field.clone(),
                            reason: r.reason.clone(),
                            reason_vi: r.reason_vi.clone(),
                        })
                        .collect();
                    ChunkResult::Refused {
                        response,
                        rejections,
                    }
                }
            }
        };
        let stop = !matches!(result, ChunkResult::Applied(_));
        outcome.chunks.push(ChunkReport {
            lines,
            events: chunk.len(),
            result,
        });
        if stop {
            if range.end < events.len() {
                outcome.unsent = Some((events[range.end].0, events.last().map_or(0, |(l, _)| *l)));
            }
            break;
        }
    }
    outcome
}

/// `N new, M already stored`, the origin and the seq range of a response.
fn accepted_line(lang: Lang, r: &SubmitResponse) -> String {
    let dup = r.accepted.iter().filter(|a| a.duplicate).count();
    let new = r.accepted.len() - dup;
    let mut s = i18n::accepted_summary(lang, new, dup);
    let mut origins: Vec<&str> = r.accepted.iter().map(|a| a.origin.as_str()).collect();
    origins.dedup();
    if !origins.is_empty() {
        let _ = write!(s, "; {}: {}", t(lang, Msg::Origin), origins.join(", "));
    }
    let seqs = r.accepted.iter().map(|a| a.seq);
    if let (Some(lo), Some(hi)) = (seqs.clone().min(), seqs.max()) {
        if lo == hi {
            let _ = write!(s, "; {}: {lo}", t(lang, Msg::SeqRange));
        } else {
            let _ = write!(s, "; {}: {lo}–{hi}", t(lang, Msg::SeqRange));
        }
    }
    s
}

/// The report of a submission for people, in `lang`. Rejections read
/// `line N: field: reason`.
pub fn render_submit(outcome: &SubmitOutcome, lang: Lang) -> String {
    let mut out = String::new();
    let several = outcome.planned > 1;
    if several {
        let _ = writeln!(
            out,
            "{}",
            i18n::chunk_plan(lang, outcome.events, outcome.planned, CHUNK_EVENTS)
        );
    }
    for (k, chunk) in outcome.chunks.iter().enumerate() {
        let label = i18n::chunk_label(lang, k + 1, outcome.planned, chunk.lines);
        match &chunk.result {
            ChunkResult::Applied(r) if several => {
                let _ = writeln!(out, "{label}: {}", accepted_line(lang, r));
            }
            ChunkResult::Applied(r) => {
                let _ = writeln!(out, "{}", accepted_line(lang, r));
            }
            ChunkResult::Refused { rejections, .. } => {
                if several {
                    let _ = writeln!(out, "{label}: {}", t(lang, Msg::ChunkRefused));
                }
                for r in rejections {
                    let _ = writeln!(
                        out,
                        "{} {}: {}: {}",
                        t(lang, Msg::Line),
                        r.line,
                        r.field,
                        r.reason(lang)
                    );
                }
                let _ = writeln!(
                    out,
                    "{} {}",
                    i18n::refused_summary(lang, rejections.len()),
                    t(
                        lang,
                        if several {
                            Msg::BatchRefusedNothingApplied
                        } else {
                            Msg::NothingApplied
                        }
                    )
                );
            }
            ChunkResult::Failed(e) => {
                let mut line = e.render(lang);
                if several {
                    line = format!("{label}: {}: {line}", t(lang, Msg::ChunkFailed));
                }
                if e.outcome_unknown() {
                    let _ = write!(line, "; {}", t(lang, Msg::OutcomeUnknown));
                }
                let _ = writeln!(out, "{line}");
            }
        }
    }
    if several && !outcome.is_success() {
        let applied: Vec<&ChunkReport> = outcome
            .chunks
            .iter()
            .filter(|c| matches!(c.result, ChunkResult::Applied(_)))
            .collect();
        match (applied.first(), applied.last()) {
            (Some(first), Some(last)) => {
                let _ = writeln!(
                    out,
                    "{}",
                    i18n::applied_lines(lang, first.lines.0, last.lines.1)
                );
            }
            _ => {
                let _ = writeln!(out, "{}", t(lang, Msg::NothingApplied));
            }
        }
        if let Some((first, last)) = outcome.unsent {
            let _ = writeln!(out, "{}", i18n::not_sent(lang, first, last));
        }
    }
    out
}

// ----------------------------------------------------------------- status

/// Appends a left-aligned table; the last column is not padded.
fn table(out: &mut String, indent: &str, headers: &[&str], rows: &[Vec<String>]) {
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let header: Vec<String> = headers.iter().map(|h| (*h).to_owned()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = indent.to_owned();
        for (i, cell) in row.iter().enumerate() {
            line.push_str(cell);
            if i + 1 < row.len() {
                let pad = widths[i].saturating_sub(width(cell)) + 2;
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The status of a node for people, in `lang`; ages are relative to `now_ms`
/// (ms since the Unix epoch).
pub fn render_status(s: &StatusResponse, lang: Lang, now_ms: i64) -> String {
    let mut out = String::new();
    let ago = |at: i64| i18n::ago(lang, at, now_ms);
    let name = if s.name.is_empty() {
        String::new()
    } else {
        format!(" — {}", s.name)
    };
    let _ = writeln!(
        out,
        "{}: {}{name} ({} {}, {} {})",
        t(lang, Msg::Unit),
        s.unit,
        t(lang, Msg::Version),
        if s.version.is_empty() {
            "?"
        } else {
            &s.version
        },
        t(lang, Msg::Started),
        ago(s.started_at),
    );
    let _ = writeln!(out, "{}: {}", t(lang, Msg::LogLength), s.log_length);
    if s.revocation_number > 0 {
        let _ = writeln!(
            out,
            "{}: {}",
            t(lang, Msg::RevocationList),
            s.revocation_number
        );
    }
    if !s.revocation_error.is_empty() {
        let _ = writeln!(
            out,
            "{}: {}",
            t(lang, Msg::RevocationRefused),
            s.revocation_error
        );
    }
    if !s.recording_closed.is_empty() {
        let _ = writeln!(
            out,
            "{}: {}",
            t(lang, Msg::RecordingClosed),
            s.recording_closed
        );
    }
    for n in &s.store_notices {
        let _ = writeln!(out, "{}: {n}", t(lang, Msg::StoreNotice));
    }
    if let Some(r) = &s.retirement {
        let (msg, n) = if r.confirmed && r.not_held == 0 {
            (Msg::RetireSafe, 0)
        } else {
            // Without an answer from the parent, nothing is known held.
            (
                Msg::RetireNotYet,
                if r.confirmed {
                    r.not_held
                } else {
                    s.log_length.max(r.not_held)
                },
            )
        };
        let text = t(lang, msg)
            .replace("{until}", &r.until)
            .replace("{parent}", &r.parent)
            .replace("{n}", &n.to_string());
        let _ = writeln!(out, "{text}");
    }

    let uplink = s.uplink.clone().unwrap_or_default();
    let state = LinkState::try_from(uplink.state).unwrap_or(LinkState::Unspecified);
    let root = state == LinkState::NoParent;
    let _ = writeln!(out, "{}:", t(lang, Msg::Uplink));
    let field = |out: &mut String, label: Msg, value: &str| {
        let _ = writeln!(out, "  {}: {value}", t(lang, label));
    };
    field(&mut out, Msg::LinkStateLabel, i18n::link_state(lang, state));
    if !root {
        field(&mut out, Msg::Parent, &uplink.parent);
        field(&mut out, Msg::Endpoint, &uplink.endpoint);
        field(&mut out, Msg::Backlog, &uplink.backlog.to_string());
        let last_error = if uplink.last_error.is_empty() {
            t(lang, Msg::None).to_owned()
        } else {
            format!("{} ({})", uplink.last_error, ago(uplink.last_error_at))
        };
        field(&mut out, Msg::LastError, &last_error);
        field(&mut out, Msg::LastAck, &ago(uplink.last_ack_at));
        if uplink.connected_since > 0 {
            field(&mut out, Msg::ConnectedSince, &ago(uplink.connected_since));
        }
        field(&mut out, Msg::Reconnects, &uplink.reconnects.to_string());
        if uplink.recovered > 0 {
            field(&mut out, Msg::Recovered, &uplink.recovered.to_string());
        }
    }

    if s.origins.is_empty() {
        let _ = writeln!(out, "{}: {}", t(lang, Msg::Origins), t(lang, Msg::None));
    } else {
        let _ = writeln!(out, "{} ({}):", t(lang, Msg::Origins), s.origins.len());
        let mut headers = vec![t(lang, Msg::ColOrigin), t(lang, Msg::ColSeq)];
        if !root {
            headers.extend([t(lang, Msg::ColParentSeq), t(lang, Msg::ColBehind)]);
        }
        headers.push(t(lang, Msg::ColStalled));
        let rows: Vec<Vec<String>> = s
            .origins
            .iter()
            .map(|o| {
                let mut row = vec![o.origin.clone(), o.seq.to_string()];
                if !root {
                    row.push(o.parent_seq.to_string());
                    row.push(o.seq.saturating_sub(o.parent_seq).to_string());
                }
                row.push(o.stalled.clone());
                row
            })
            .collect();
        table(&mut out, "  ", &headers, &rows);
    }

    if s.children.is_empty() {
        let _ = writeln!(out, "{}: {}", t(lang, Msg::Children), t(lang, Msg::None));
    } else {
        let _ = writeln!(out, "{} ({}):", t(lang, Msg::Children), s.children.len());
        let headers = [
            t(lang, Msg::ColUnit),
            t(lang, Msg::ColConnected),
            t(lang, Msg::ColLastContact),
            t(lang, Msg::ColLastRefusal),
        ];
        let rows: Vec<Vec<String>> = s
            .children
            .iter()
            .map(|c| {
                vec![
                    c.unit.clone(),
                    i18n::yes_no(lang, c.connected).to_owned(),
                    ago(c.last_contact),
                    c.last_refusal.clone(),
                ]
            })
            .collect();
        table(&mut out, "  ", &headers, &rows);
    }
    out
}

// ------------------------------------------------------------------ certs

/// What `certs` did, for people: whether the CA was created, the
/// certificates written, and how many were kept.
pub fn render_certs(report: &IssueReport, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "CA: {}",
        t(
            lang,
            if report.ca_created {
                Msg::CaCreated
            } else {
                Msg::CaReused
            }
        )
    );
    let _ = writeln!(
        out,
        "{}: {}",
        t(lang, Msg::CertsCreated),
        report.created.len()
    );
    for p in &report.created {
        let _ = writeln!(out, "  {}", p.display());
    }
    if !report.reissued.is_empty() {
        let _ = writeln!(
            out,
            "  {}: {}",
            t(lang, Msg::CertsReissued),
            report.reissued.len()
        );
    }
    let _ = writeln!(out, "{}: {}", t(lang, Msg::CertsKept), report.kept.len());
    out
}
