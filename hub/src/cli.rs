//! The library side of `sync178-hub query` and `rebuild`: the `Query` calls, their tables, CSV and JSON, and the rebuild that checks the stored state against a replay of the feed. It never prints.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sync178_node::cli::CliError;
use sync178_shared::exit;
use sync178_shared::history::History;
use sync178_shared::i18n::{Lang, ago};
use sync178_shared::proto::v1::query_client::QueryClient;
use sync178_shared::proto::v1::{
    BreakdownRequest, BreakdownResponse, CompletenessRequest, CompletenessResponse, Kpi,
    KpiRequest, KpiResponse, KpiValue, Metric, Rollup, RollupRequest, RollupResponse,
    SyncStatusRequest, SyncStatusResponse, UnitInfo, UnitsRequest, UnitsResponse,
    View as ProtoView,
};
use sync178_shared::tls::LoadedTls;
use tonic::transport::Channel;

use crate::follower::{self, FeedSource, FollowError};
use crate::i18n::{self, Msg, int, percent_bp, t};
use crate::state::State;
use crate::store::StoreError;
use crate::{Config, Hub, HubError};

/// Exit code of a query the hub could not answer: unknown unit, malformed
/// period or year, nothing recorded (gRPC `NotFound` / `InvalidArgument`):
/// 65 (`EX_DATAERR`), distinct from 2, clap's code for a bad command line.
pub const EXIT_QUERY: u8 = exit::DATAERR;
/// Exit code of a rebuild whose state differs from the stored one.
pub const EXIT_DIFFERS: u8 = 1;
/// How long a rebuild waits for the store's lock, which sled releases from a
/// background thread shortly after a hub in the same process stops.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);
/// How long a rebuild waits for the next feed batch before it gives up.
pub const FEED_STALL: Duration = Duration::from_secs(30);

// ------------------------------------------------------------------ query

/// One question to the hub's `Query` service.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum QueryCmd {
    /// The KPIs of a unit for a year, against their targets.
    Kpi {
        /// The unit, e.g. p33, d323 or c11950.
        unit: String,
        /// The year, e.g. 2024.
        year: u32,
    },
    /// The counts of a unit's whole subtree for a period.
    Rollup {
        /// The unit.
        unit: String,
        /// The period: 2024, 2024-H1, 2024-Q3 or 2024-03.
        period: String,
    },
    /// The counts and KPIs of the units directly below a unit.
    Breakdown {
        /// The unit.
        unit: String,
        /// The period.
        period: String,
    },
    /// Which communes and districts recorded nothing in a period, and which have no plan.
    Completeness {
        /// The unit.
        unit: String,
        /// The period.
        period: String,
    },
    /// Per recording unit: the last event recorded and received, and the lag.
    SyncStatus {
        /// Only the units under this one (default: everything the hub follows).
        unit: Option<String>,
    },
    /// The units of the tree under a unit.
    Units {
        /// The top of the tree (default: the unit the hub follows).
        unit: Option<String>,
    },
}

/// What the hub answered.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `kpi`.
    Kpis(KpiResponse),
    /// `rollup`.
    Rollup(RollupResponse),
    /// `breakdown`.
    Breakdown(BreakdownResponse),
    /// `completeness`.
    Completeness(CompletenessResponse),
    /// `sync-status`.
    SyncStatus(SyncStatusResponse),
    /// `units`.
    Units(UnitsResponse),
}

/// Asks the hub behind `channel` one question.
pub async fn query(
    channel: Channel,
    endpoint: &str,
    cmd: &QueryCmd,
    no_suppress: bool,
    view: crate::state::View,
) -> Result<Answer, CliError> {
    let view = match view {
        crate::state::View::Today => ProtoView::Today,
        crate::state::View::AsRecorded => ProtoView::AsRecorded,
    } as i32;
    let mut client = QueryClient::new(channel).max_decoding_message_size(64 << 20);
    let call = |status| CliError::Call {
        endpoint: endpoint.to_owned(),
        status,
    };
    Ok(match cmd.clone() {
        QueryCmd::Kpi { unit, year } => Answer::Kpis(
            client
                .kpis(KpiRequest {
                    unit,
                    year,
                    no_suppress,
                    view,
                })
                .await
                .map_err(call)?
                .into_inner(),
        ),
        QueryCmd::Rollup { unit, period } => Answer::Rollup(
            client
                .rollup(RollupRequest {
                    unit,
                    period,
                    no_suppress,
                    view,
                })
                .await
                .map_err(call)?
                .into_inner(),
        ),
        QueryCmd::Breakdown { unit, period } => Answer::Breakdown(
            client
                .breakdown(BreakdownRequest {
                    unit,
                    period,
                    no_suppress,
                    view,
                })
                .await
                .map_err(call)?
                .into_inner(),
        ),
        QueryCmd::Completeness { unit, period } => Answer::Completeness(
            client
                .completeness(CompletenessRequest { unit, period, view })
                .await
                .map_err(call)?
                .into_inner(),
        ),
        QueryCmd::SyncStatus { unit } => Answer::SyncStatus(
            client
                .sync_status(SyncStatusRequest {
                    unit: unit.unwrap_or_default(),
                })
                .await
                .map_err(call)?
                .into_inner(),
        ),
        QueryCmd::Units { unit } => Answer::Units(
            client
                .units(UnitsRequest {
                    under: unit.unwrap_or_default(),
                })
                .await
                .map_err(call)?
                .into_inner(),
        ),
    })
}

/// Whether the hub refused the question itself (unknown unit, malformed
/// period, no data), rather than the call failing.
fn refused_question(e: &CliError) -> Option<&tonic::Status> {
    match e {
        CliError::Call { status, .. }
            if matches!(
                status.code(),
                tonic::Code::NotFound | tonic::Code::InvalidArgument
            ) =>
        {
            Some(status)
        }
        _ => None,
    }
}

/// The exit code of a failed query: [`EXIT_QUERY`] for a question the hub
/// refused, otherwise the node CLI's codes (64 settings, 69 unreachable, 77
/// permission).
pub fn exit_code(e: &CliError) -> u8 {
    if refused_question(e).is_some() {
        return EXIT_QUERY;
    }
    match e {
        CliError::Tls(_) | CliError::Endpoint { .. } => exit::USAGE,
        CliError::Connect { .. } => exit::UNAVAILABLE,
        other => other.exit_code(),
    }
}

/// A failed query on one line in `lang`: the hub's own message when it
/// refused the question, otherwise what went wrong with the call.
pub fn render_error(e: &CliError, lang: Lang) -> String {
    if let Some(status) = refused_question(e) {
        return i18n::question_refused(lang, &status.message().replace('\n', " "));
    }
    match e {
        CliError::Connect {
            endpoint,
            server,
            cause,
        } => i18n::cannot_connect(lang, endpoint, &server.to_string(), cause),
        other => other.render(lang),
    }
}

/// The answer as canonical JSON (proto field names, 64-bit integers as strings).
pub fn render_json(answer: &Answer) -> Result<String, serde_json::Error> {
    let mut s = match answer {
        Answer::Kpis(r) => serde_json::to_string_pretty(r),
        Answer::Rollup(r) => serde_json::to_string_pretty(r),
        Answer::Breakdown(r) => serde_json::to_string_pretty(r),
        Answer::Completeness(r) => serde_json::to_string_pretty(r),
        Answer::SyncStatus(r) => serde_json::to_string_pretty(r),
        Answer::Units(r) => serde_json::to_string_pretty(r),
    }?;
    s.push('\n');
    Ok(s)
}

/// The answer as a table for people, in `lang`; times are relative to
/// `now_ms` (ms since the Unix epoch).
pub fn render_table(answer: &Answer, lang: Lang, now_ms: i64) -> String {
    match answer {
        Answer::Kpis(r) => render_kpis(r, lang),
        Answer::Rollup(r) => render_rollup(r.rollup.as_ref().unwrap_or(&Rollup::default()), lang),
        Answer::Breakdown(r) => render_breakdown(r, lang),
        Answer::Completeness(r) => render_completeness(r, lang, now_ms),
        Answer::SyncStatus(r) => render_sync_status(r, lang, now_ms),
        Answer::Units(r) => render_units(r, lang),
    }
}

// ------------------------------------------------------------------ tables

/// How a column is aligned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

/// Appends an aligned table (two spaces between columns, no trailing spaces).
fn table(out: &mut String, headers: &[(String, Align)], rows: &[Vec<String>]) {
    let width = |s: &str| s.chars().count();
    let mut widths: Vec<usize> = headers.iter().map(|(h, _)| width(h)).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(width(cell));
        }
    }
    let header: Vec<String> = headers.iter().map(|(h, _)| h.clone()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                line.push_str("  ");
            }
            let pad = widths
                .get(i)
                .copied()
                .unwrap_or(0)
                .saturating_sub(width(cell));
            let align = headers.get(i).map_or(Align::Left, |(_, a)| *a);
            if align == Align::Right {
                line.extend(std::iter::repeat_n(' ', pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.extend(std::iter::repeat_n(' ', pad));
            }
        }
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

fn left(s: impl Into<String>) -> (String, Align) {
    (s.into(), Align::Left)
}

fn right(s: impl Into<String>) -> (String, Align) {
    (s.into(), Align::Right)
}

fn kpi_of(v: &KpiValue) -> Kpi {
    Kpi::try_from(v.kpi).unwrap_or(Kpi::Unspecified)
}

/// A count of a metric as shown: `<5` when suppressed.
fn count_cell(lang: Lang, m: &Metric) -> String {
    if m.suppressed {
        "<5".to_owned()
    } else {
        int(lang, m.value)
    }
}

/// A KPI's value as shown: `85,0%`, `n/a`, or `hidden` when suppressed.
fn kpi_value_cell(lang: Lang, v: &KpiValue) -> String {
    if v.suppressed {
        t(lang, Msg::Hidden).to_owned()
    } else if v.has_value {
        percent_bp(lang, v.value_bp)
    } else {
        t(lang, Msg::NoValue).to_owned()
    }
}

/// Whether a KPI met its target: met, not met, `n/a` (no value), `hidden`,
/// or `—` (no target).
fn kpi_met_cell(lang: Lang, v: &KpiValue) -> String {
    if !v.has_target {
        "—".to_owned()
    } else if v.suppressed {
        t(lang, Msg::Hidden).to_owned()
    } else if !v.has_value {
        t(lang, Msg::NoValue).to_owned()
    } else {
        t(lang, if v.met { Msg::Met } else { Msg::NotMet }).to_owned()
    }
}

/// The KPIs of a unit for a year.
pub fn render_kpis(r: &KpiResponse, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        i18n::heading(lang, &r.unit, &r.unit_name, &i18n::year_label(lang, r.year))
    );
    let headers = [
        left(t(lang, Msg::ColKpi)),
        right(t(lang, Msg::ColNumerator)),
        right(t(lang, Msg::ColDenominator)),
        right(t(lang, Msg::ColValue)),
        right(t(lang, Msg::ColTarget)),
        left(t(lang, Msg::ColMet)),
        left(t(lang, Msg::ColTargetFrom)),
    ];
    let rows: Vec<Vec<String>> = r
        .kpis
        .iter()
        .map(|v| {
            let (num, den) = if v.suppressed {
                ("<5".to_owned(), t(lang, Msg::Hidden).to_owned())
            } else {
                (int(lang, v.numerator), int(lang, v.denominator))
            };
            vec![
                i18n::kpi_label(lang, kpi_of(v)).to_owned(),
                num,
                den,
                kpi_value_cell(lang, v),
                if v.has_target {
                    percent_bp(lang, v.target_bp)
                } else {
                    "—".to_owned()
                },
                kpi_met_cell(lang, v),
                v.target_from.clone(),
            ]
        })
        .collect();
    table(&mut out, &headers, &rows);
    if r.kpis.iter().any(|v| v.suppressed) {
        let _ = writeln!(out, "{}", t(lang, Msg::SuppressedNote));
    }
    out
}

/// The roll-up metric a breakdown metric belongs under, for display.
fn parent_metric(name: &str) -> Option<&'static str> {
    [
        ("violations.act.", "violations"),
        ("awareness.form.", "awareness.activities"),
        ("awareness.participants.", "awareness.participants"),
        ("services.kind.", "services.provided"),
    ]
    .into_iter()
    .find(|(prefix, _)| name.starts_with(prefix))
    .map(|(_, parent)| parent)
}

/// The counts of a unit for a period: one row per metric, breakdowns
/// indented under their total.
pub fn render_rollup(r: &Rollup, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        i18n::heading(
            lang,
            &r.unit,
            &r.unit_name,
            &i18n::period_label(lang, &r.period)
        )
    );
    let row = |m: &Metric, indent: &str| {
        vec![
            format!("{indent}{}", i18n::metric_label(lang, &m.name)),
            count_cell(lang, m),
        ]
    };
    let mut rows = Vec::with_capacity(r.metrics.len());
    let mut placed = vec![false; r.metrics.len()];
    for (i, m) in r.metrics.iter().enumerate() {
        if parent_metric(&m.name).is_some() {
            continue;
        }
        rows.push(row(m, ""));
        placed[i] = true;
        for (j, sub) in r.metrics.iter().enumerate() {
            if parent_metric(&sub.name) == Some(m.name.as_str()) {
                rows.push(row(sub, "  "));
                placed[j] = true;
            }
        }
    }
    for (m, done) in r.metrics.iter().zip(&placed) {
        if !done {
            rows.push(row(m, ""));
        }
    }
    table(
        &mut out,
        &[left(t(lang, Msg::ColMetric)), right(t(lang, Msg::ColCount))],
        &rows,
    );
    if r.metrics.iter().any(|m| m.suppressed) {
        let _ = writeln!(out, "{}", t(lang, Msg::SuppressedNote));
    }
    out
}

/// The metrics a breakdown shows per child.
const BREAKDOWN_METRICS: [&str; 8] = [
    "events",
    "inspections",
    "violations",
    "penalties.fines_vnd",
    "tipoffs.received",
    "awareness.activities",
    "services.provided",
    "clients.served",
];

/// The counts and KPIs of the children of a unit.
pub fn render_breakdown(r: &BreakdownResponse, lang: Lang) -> String {
    let mut out = String::new();
    let total = r.total.clone().unwrap_or_default();
    let _ = writeln!(
        out,
        "{}",
        i18n::heading(
            lang,
            &total.unit,
            &total.unit_name,
            &i18n::period_label(lang, &total.period)
        )
    );
    let _ = writeln!(out, "{}:", t(lang, Msg::Children));
    let mut headers = vec![left(t(lang, Msg::ColUnit)), left(t(lang, Msg::ColName))];
    headers.extend(
        BREAKDOWN_METRICS
            .iter()
            .map(|m| right(i18n::metric_short(lang, m))),
    );
    let counts = |r: &Rollup| -> Vec<String> {
        BREAKDOWN_METRICS
            .iter()
            .map(|name| {
                r.metrics
                    .iter()
                    .find(|m| m.name == *name)
                    .map_or_else(|| int(lang, 0), |m| count_cell(lang, m))
            })
            .collect()
    };
    let mut rows: Vec<Vec<String>> = r
        .children
        .iter()
        .map(|c| {
            let mut row = vec![c.unit.clone(), c.unit_name.clone()];
            row.extend(counts(c));
            row
        })
        .collect();
    let mut total_row = vec![total.unit.clone(), t(lang, Msg::Total).to_owned()];
    total_row.extend(counts(&total));
    rows.push(total_row);
    table(&mut out, &headers, &rows);

    if !r.child_kpis.is_empty() {
        let year = r.child_kpis.first().map_or(0, |k| k.year);
        let _ = writeln!(
            out,
            "\n{} ({}):",
            t(lang, Msg::ChildKpis),
            i18n::year_label(lang, year)
        );
        let mut headers = vec![left(t(lang, Msg::ColUnit))];
        headers.extend(
            crate::kpi::ALL
                .iter()
                .map(|k| right(i18n::kpi_short(lang, *k))),
        );
        let rows: Vec<Vec<String>> = r
            .child_kpis
            .iter()
            .map(|k| {
                let mut row = vec![k.unit.clone()];
                row.extend(crate::kpi::ALL.iter().map(|want| {
                    match k.kpis.iter().find(|v| kpi_of(v) == *want) {
                        None => t(lang, Msg::NoValue).to_owned(),
                        Some(v) if v.suppressed => "<5".to_owned(),
                        Some(v) if !v.has_value => t(lang, Msg::NoValue).to_owned(),
                        Some(v) if v.has_target => format!(
                            "{} {}",
                            percent_bp(lang, v.value_bp),
                            if v.met { "✓" } else { "✗" }
                        ),
                        Some(v) => percent_bp(lang, v.value_bp),
                    }
                }));
                row
            })
            .collect();
        table(&mut out, &headers, &rows);
        let _ = writeln!(out, "{}", t(lang, Msg::MetLegend));
        let _ = writeln!(out, "{}", i18n::kpi_short_legend(lang));
    }
    let suppressed = r
        .children
        .iter()
        .chain(r.total.as_ref())
        .flat_map(|c| &c.metrics)
        .any(|m| m.suppressed)
        || r.child_kpis
            .iter()
            .flat_map(|k| &k.kpis)
            .any(|v| v.suppressed);
    if suppressed {
        let _ = writeln!(out, "{}", t(lang, Msg::SuppressedNote));
    }
    out
}

/// Which units recorded nothing in a period, and which have no plan.
pub fn render_completeness(r: &CompletenessResponse, lang: Lang, now_ms: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}",
        i18n::heading(lang, &r.unit, "", &i18n::period_label(lang, &r.period))
    );
    let silent = r.units.iter().filter(|u| u.events == 0).count();
    let _ = writeln!(out, "{}", i18n::silent_units(lang, silent, r.units.len()));
    let headers = [
        left(t(lang, Msg::ColUnit)),
        left(t(lang, Msg::ColName)),
        right(t(lang, Msg::ColEvents)),
        left(t(lang, Msg::ColPlan)),
        left(t(lang, Msg::ColLastRecorded)),
        left(t(lang, Msg::ColNote)),
    ];
    let rows: Vec<Vec<String>> = r
        .units
        .iter()
        .map(|u| {
            let mut note = Vec::new();
            if u.events == 0 {
                note.push(t(lang, Msg::NothingRecorded));
            }
            if !u.has_plan {
                note.push(t(lang, Msg::NoPlan));
            }
            vec![
                u.unit.clone(),
                u.name.clone(),
                int(lang, u.events),
                i18n::yes_no(lang, u.has_plan).to_owned(),
                ago(lang, u.last_recorded_at, now_ms),
                note.join("; "),
            ]
        })
        .collect();
    table(&mut out, &headers, &rows);
    out
}

/// Per origin: the last event recorded and received, and the lag.
pub fn render_sync_status(r: &SyncStatusResponse, lang: Lang, now_ms: i64) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}: {}",
        t(lang, Msg::Checkpoint),
        int(lang, r.checkpoint)
    );
    let _ = writeln!(out, "{}: {}", t(lang, Msg::Skipped), int(lang, r.skipped));
    let known = r.heads_at > 0;
    if known {
        let _ = writeln!(
            out,
            "{}: {} / {} ({})",
            t(lang, Msg::NodeHolds),
            int(lang, r.node_next_position),
            int(lang, r.lag_events),
            ago(lang, r.heads_at, now_ms)
        );
    }
    if r.origins.is_empty() {
        let _ = writeln!(out, "{}", t(lang, Msg::NoOrigins));
        return out;
    }
    let headers = [
        left(t(lang, Msg::ColOrigin)),
        left(t(lang, Msg::ColName)),
        right(t(lang, Msg::ColLastSeq)),
        left(t(lang, Msg::ColLastRecorded)),
        left(t(lang, Msg::ColLastReceived)),
        right(t(lang, Msg::ColLag)),
        right(t(lang, Msg::ColLagEvents)),
    ];
    let rows: Vec<Vec<String>> = r
        .origins
        .iter()
        .map(|o| {
            vec![
                o.origin.clone(),
                o.name.clone(),
                int(lang, o.last_seq),
                ago(lang, o.last_recorded_at, now_ms),
                ago(lang, o.last_received_at, now_ms),
                i18n::duration(lang, o.lag_ms),
                if known {
                    int(lang, o.lag_events)
                } else {
                    "—".into()
                },
            ]
        })
        .collect();
    table(&mut out, &headers, &rows);
    out
}

/// The units of a tree, each under its parent and indented by depth.
pub fn render_units(r: &UnitsResponse, lang: Lang) -> String {
    use std::collections::{HashMap, HashSet};
    let mut out = String::new();
    let known: HashSet<&str> = r.units.iter().map(|u| u.unit.as_str()).collect();
    let mut children: HashMap<&str, Vec<&UnitInfo>> = HashMap::new();
    for u in &r.units {
        children.entry(u.parent.as_str()).or_default().push(u);
    }
    // Depth first from the units whose parent is not in the answer.
    let mut stack: Vec<(&UnitInfo, usize)> = r
        .units
        .iter()
        .rev()
        .filter(|u| !known.contains(u.parent.as_str()))
        .map(|u| (u, 0))
        .collect();
    let mut seen: HashSet<&str> = HashSet::new();
    let mut rows: Vec<Vec<String>> = Vec::with_capacity(r.units.len());
    let row = |u: &UnitInfo, depth: usize| {
        vec![
            format!("{}{}", "  ".repeat(depth), u.unit),
            u.name.clone(),
            u.parent.clone(),
        ]
    };
    while let Some((u, depth)) = stack.pop() {
        if !seen.insert(u.unit.as_str()) {
            continue;
        }
        rows.push(row(u, depth));
        if let Some(kids) = children.get(u.unit.as_str()) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    // Whatever a malformed answer left unreached (a cycle), flat at the end.
    for u in &r.units {
        if seen.insert(u.unit.as_str()) {
            rows.push(row(u, 0));
        }
    }
    table(
        &mut out,
        &[
            left(t(lang, Msg::ColUnit)),
            left(t(lang, Msg::ColName)),
            left(t(lang, Msg::ColParent)),
        ],
        &rows,
    );
    out
}

// --------------------------------------------------------------------- CSV

/// The byte-order mark that tells spreadsheet programs the file is UTF-8.
pub const BOM: char = '\u{feff}';

/// Appends one CSV record (RFC 4180: quoted when needed, CRLF).
fn csv_row<S: AsRef<str>>(out: &mut String, fields: &[S]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let f = f.as_ref();
        if f.contains([',', '"', '\n', '\r']) || f.starts_with(' ') || f.ends_with(' ') {
            out.push('"');
            out.push_str(&f.replace('"', "\"\""));
            out.push('"');
        } else {
            out.push_str(f);
        }
    }
    out.push_str("\r\n");
}

/// Basis points as a plain percentage for spreadsheets: 8500 → `85.00`.
fn csv_percent(bp: u32) -> String {
    format!("{}.{:02}", bp / 100, bp % 100)
}

/// ms since the epoch as RFC 3339 UTC; empty for 0 (never).
fn csv_time(ms: i64) -> String {
    if ms <= 0 {
        return String::new();
    }
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn csv_bool(b: bool) -> &'static str {
    if b { "true" } else { "false" }
}

/// The answer as CSV for spreadsheets: a UTF-8 byte-order mark, a header row
/// of stable English column names, then one record per row. Labels are in
/// `lang`; numbers are plain (`1234567`, `85.00`), a suppressed count is `<5`
/// and a missing value is empty.
pub fn render_csv(answer: &Answer, lang: Lang) -> String {
    let mut out = String::new();
    out.push(BOM);
    match answer {
        Answer::Kpis(r) => {
            csv_row(
                &mut out,
                &[
                    "unit",
                    "unit_name",
                    "year",
                    "kpi",
                    "label",
                    "numerator",
                    "denominator",
                    "value_pct",
                    "target_pct",
                    "target_from",
                    "met",
                    "suppressed",
                ],
            );
            for v in &r.kpis {
                let hidden = |n: u64| {
                    if v.suppressed {
                        "<5".to_owned()
                    } else {
                        n.to_string()
                    }
                };
                csv_row(
                    &mut out,
                    &[
                        r.unit.clone(),
                        r.unit_name.clone(),
                        r.year.to_string(),
                        crate::kpi::name(kpi_of(v)),
                        i18n::kpi_label(lang, kpi_of(v)).to_owned(),
                        hidden(v.numerator),
                        if v.suppressed {
                            String::new()
                        } else {
                            v.denominator.to_string()
                        },
                        if v.has_value {
                            csv_percent(v.value_bp)
                        } else {
                            String::new()
                        },
                        if v.has_target {
                            csv_percent(v.target_bp)
                        } else {
                            String::new()
                        },
                        v.target_from.clone(),
                        if v.has_target && v.has_value {
                            csv_bool(v.met).to_owned()
                        } else {
                            String::new()
                        },
                        csv_bool(v.suppressed).to_owned(),
                    ],
                );
            }
        }
        Answer::Rollup(r) => {
            csv_row(
                &mut out,
                &["unit", "unit_name", "period", "metric", "label", "value"],
            );
            if let Some(r) = &r.rollup {
                csv_metrics(&mut out, r, lang);
            }
        }
        Answer::Breakdown(r) => {
            csv_row(
                &mut out,
                &["unit", "unit_name", "period", "metric", "label", "value"],
            );
            for c in r.total.iter().chain(&r.children) {
                csv_metrics(&mut out, c, lang);
            }
            let period = r.total.as_ref().map_or("", |t| t.period.as_str());
            for k in &r.child_kpis {
                for v in &k.kpis {
                    let value = if v.suppressed {
                        "<5".to_owned()
                    } else if v.has_value {
                        csv_percent(v.value_bp)
                    } else {
                        String::new()
                    };
                    csv_row(
                        &mut out,
                        &[
                            k.unit.clone(),
                            k.unit_name.clone(),
                            period.to_owned(),
                            format!("kpi.{}_pct", crate::kpi::name(kpi_of(v))),
                            i18n::kpi_label(lang, kpi_of(v)).to_owned(),
                            value,
                        ],
                    );
                }
            }
        }
        Answer::Completeness(r) => {
            csv_row(
                &mut out,
                &[
                    "unit",
                    "name",
                    "period",
                    "events",
                    "has_plan",
                    "last_recorded_at",
                ],
            );
            for u in &r.units {
                csv_row(
                    &mut out,
                    &[
                        u.unit.clone(),
                        u.name.clone(),
                        r.period.clone(),
                        u.events.to_string(),
                        csv_bool(u.has_plan).to_owned(),
                        csv_time(u.last_recorded_at),
                    ],
                );
            }
        }
        Answer::SyncStatus(r) => {
            csv_row(
                &mut out,
                &[
                    "origin",
                    "name",
                    "last_seq",
                    "last_recorded_at",
                    "last_received_at",
                    "lag_ms",
                    "node_seq",
                    "lag_events",
                ],
            );
            for o in &r.origins {
                csv_row(
                    &mut out,
                    &[
                        o.origin.clone(),
                        o.name.clone(),
                        o.last_seq.to_string(),
                        csv_time(o.last_recorded_at),
                        csv_time(o.last_received_at),
                        o.lag_ms.to_string(),
                        o.node_seq.to_string(),
                        o.lag_events.to_string(),
                    ],
                );
            }
        }
        Answer::Units(r) => {
            csv_row(&mut out, &["unit", "name", "parent"]);
            for u in &r.units {
                csv_row(&mut out, &[&u.unit, &u.name, &u.parent]);
            }
        }
    }
    out
}

fn csv_metrics(out: &mut String, r: &Rollup, lang: Lang) {
    for m in &r.metrics {
        csv_row(
            out,
            &[
                r.unit.clone(),
                r.unit_name.clone(),
                r.period.clone(),
                m.name.clone(),
                i18n::metric_label(lang, &m.name),
                if m.suppressed {
                    "<5".to_owned()
                } else {
                    m.value.to_string()
                },
            ],
        );
    }
}

// ----------------------------------------------------------------- rebuild

/// Why a rebuild could not run.
#[derive(Debug, thiserror::Error)]
pub enum RebuildError {
    /// A running hub holds the store's lock.
    #[error("the hub's store {} is in use by a running hub: stop `sync178-hub run` before rebuilding", path.display())]
    StoreInUse {
        /// The store's folder.
        path: PathBuf,
    },
    /// The hub could not be opened (certificate, topology, store).
    #[error(transparent)]
    Open(#[from] HubError),
    /// The node's feed failed.
    #[error(transparent)]
    Feed(#[from] FollowError),
    /// The feed stopped before the stored checkpoint.
    #[error("the node's feed stopped at position {at}, short of the stored checkpoint {upto}")]
    Stalled {
        /// Where the replay stands.
        at: u64,
        /// The stored checkpoint.
        upto: u64,
    },
    /// The rebuilt state could not be written.
    #[error("writing the rebuilt state: {0}")]
    Replace(#[source] StoreError),
}

impl RebuildError {
    /// The error on one line in `lang` (causes stay as they are).
    pub fn render(&self, lang: Lang) -> String {
        match self {
            RebuildError::StoreInUse { path } => {
                i18n::store_in_use(lang, &path.display().to_string())
            }
            RebuildError::Stalled { at, upto } => {
                i18n::feed_stalled(lang, *at, *upto, FEED_STALL.as_secs())
            }
            other => sync178_shared::exit::error_chain(other),
        }
    }
}

/// The digest of a state, whole and per projection, in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digests {
    /// Of the whole state (with its checkpoint).
    pub all: String,
    /// Per projection, in the state's order.
    pub parts: Vec<(String, String)>,
}

impl Digests {
    /// The digests of `state`.
    pub fn of(state: &State) -> Digests {
        let (all, parts) = state.digest();
        Digests {
            all: all.to_hex().to_string(),
            parts: parts
                .into_iter()
                .map(|(n, d)| (n.to_owned(), d.to_hex().to_string()))
                .collect(),
        }
    }
}

/// What a rebuild found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RebuildReport {
    /// The stored checkpoint: the replay covered positions `0..checkpoint`.
    pub checkpoint: u64,
    /// The stored state's digests.
    pub stored: Digests,
    /// The rebuilt state's digests.
    pub rebuilt: Digests,
    /// Whether the rebuilt state was written to the store.
    pub replaced: bool,
}

impl RebuildReport {
    /// Whether both states are the same.
    pub fn matches(&self) -> bool {
        self.stored == self.rebuilt
    }

    /// The projections whose digests differ.
    pub fn differing(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .stored
            .parts
            .iter()
            .filter(|(name, d)| {
                self.rebuilt
                    .parts
                    .iter()
                    .find(|(n, _)| n == name)
                    .is_none_or(|(_, r)| r != d)
            })
            .map(|(n, _)| n.as_str())
            .collect();
        for (n, _) in &self.rebuilt.parts {
            if !self.stored.parts.iter().any(|(s, _)| s == n) {
                names.push(n);
            }
        }
        names
    }

    /// 0 when both states are the same, [`EXIT_DIFFERS`] otherwise.
    pub fn exit_code(&self) -> u8 {
        if self.matches() { 0 } else { EXIT_DIFFERS }
    }
}

/// The report of a rebuild for people: both digests, and the projections
/// that differ with their digests.
pub fn render_rebuild(r: &RebuildReport, lang: Lang) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", i18n::rebuild_upto(lang, r.checkpoint));
    let stored = t(lang, Msg::StoredState);
    let rebuilt = t(lang, Msg::RebuiltState);
    let w = stored.chars().count().max(rebuilt.chars().count()) + 1;
    let _ = writeln!(out, "{:<w$} {}", format!("{stored}:"), r.stored.all);
    let _ = writeln!(out, "{:<w$} {}", format!("{rebuilt}:"), r.rebuilt.all);
    let differing = r.differing();
    if r.matches() {
        let _ = writeln!(out, "{}", t(lang, Msg::DigestsMatch));
    } else {
        let _ = writeln!(
            out,
            "{}: {}",
            t(lang, Msg::DigestsDiffer),
            if differing.is_empty() {
                "checkpoint".to_owned()
            } else {
                differing.join(", ")
            }
        );
        let short =
            |d: Option<&String>| d.map_or_else(|| "—".to_owned(), |d| d.chars().take(16).collect());
        fn find<'a>(ds: &'a Digests, n: &str) -> Option<&'a String> {
            ds.parts.iter().find(|(p, _)| p == n).map(|(_, d)| d)
        }
        let rows: Vec<Vec<String>> = differing
            .iter()
            .map(|n| {
                vec![
                    (*n).to_owned(),
                    short(find(&r.stored, n)),
                    short(find(&r.rebuilt, n)),
                ]
            })
            .collect();
        if !rows.is_empty() {
            table(
                &mut out,
                &[
                    left(t(lang, Msg::ColProjection)),
                    left(stored.to_lowercase()),
                    left(rebuilt.to_lowercase()),
                ],
                &rows,
            );
        }
    }
    if r.replaced {
        let _ = writeln!(out, "{}", t(lang, Msg::Replaced));
    }
    out
}

/// Opens the hub's store, waiting up to [`LOCK_WAIT`] for its lock.
async fn open_hub(config: &Config) -> Result<(Arc<Hub>, LoadedTls), RebuildError> {
    let deadline = Instant::now() + LOCK_WAIT;
    loop {
        match crate::open(config) {
            Err(e) => match store_in_use(&e) {
                Some(path) if Instant::now() >= deadline => {
                    return Err(RebuildError::StoreInUse {
                        path: path.to_path_buf(),
                    });
                }
                Some(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                None => return Err(RebuildError::from(e)),
            },
            Ok(opened) => return Ok(opened),
        }
    }
}

/// The store's folder when `e` is sled failing to open it because another
/// handle holds its lock. sled 0.34 reports a held lock as
/// `sled::Error::Io` of kind `Other` (the lock error only in its text), so
/// the lock is asked directly: `<store>/db`, the file sled locks, is tried
/// with the same exclusive `flock` and must answer `WouldBlock`.
fn store_in_use(e: &HubError) -> Option<&std::path::Path> {
    let HubError::Store(StoreError::Open {
        path,
        source: sled::Error::Io(_),
    }) = e
    else {
        return None;
    };
    let file = std::fs::File::open(path.join("db")).ok()?;
    match file.try_lock() {
        Err(std::fs::TryLockError::WouldBlock) => Some(path),
        // Free (dropping `file` releases it) or not lockable: not in use.
        Ok(()) | Err(std::fs::TryLockError::Error(_)) => None,
    }
}

/// Replays the node's feed into a fresh state up to (not including) `upto`,
/// calling `progress(applied, upto)` after every batch; gives up when no
/// batch comes for `stall`. The same steps as [`follower::replay`], with
/// progress and a stall limit for a command a person waits on.
pub async fn replay(
    source: &mut FeedSource,
    history: &History,
    upto: u64,
    stall: Duration,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<State, RebuildError> {
    let mut state = State::new(history);
    if upto == 0 {
        return Ok(state);
    }
    let mut stream = source.subscribe(0).await?;
    while state.checkpoint < upto {
        let Ok(msg) = tokio::time::timeout(stall, stream.message()).await else {
            return Err(RebuildError::Stalled {
                at: state.checkpoint,
                upto,
            });
        };
        let batch = msg
            .map_err(FollowError::from)?
            .ok_or(FollowError::Ended(state.checkpoint))?;
        let mut events = follower::decode_batch(batch, state.checkpoint)?;
        events.retain(|(p, _)| *p < upto);
        let fetched = source.prefetch(&events).await?;
        follower::apply_all(&mut state, history, &events, &fetched);
        progress(state.checkpoint, upto);
    }
    Ok(state)
}

/// `rebuild`: opens the (stopped) hub's store, replays the node's feed up to
/// the stored checkpoint into a fresh state, and compares the digests; with
/// `replace`, writes the rebuilt state.
pub async fn rebuild(
    config: &Config,
    replace: bool,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<RebuildReport, RebuildError> {
    let (hub, tls) = open_hub(config).await?;
    let (stored, upto) = {
        let s = hub.read();
        (Digests::of(&s), s.checkpoint)
    };
    let mut source = FeedSource::connect(&config.node.endpoint, &tls, config.node.unit).await?;
    let state = replay(&mut source, &hub.history, upto, FEED_STALL, progress).await?;
    let rebuilt = Digests::of(&state);
    if replace {
        hub.replace_state(state).map_err(RebuildError::Replace)?;
    }
    Ok(RebuildReport {
        checkpoint: upto,
        stored,
        rebuilt,
        replaced: replace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn store_in_use_is_told_by_the_lock_not_by_the_text() {
        let dir = tempfile::tempdir().expect("ok");
        let path = dir.path().join("hub");
        let first = Store::open(&path, "p33").expect("ok");
        // The error sled really gives a second opener while the lock is held.
        let Err(second) = Store::open(&path, "p33") else {
            panic!("a second open of a held store succeeded");
        };
        let held = HubError::Store(second);
        assert_eq!(store_in_use(&held), Some(path.as_path()));
        drop(first);
        // A store nobody holds, with an I/O error whose text says "lock":
        // not a store in use, so the rebuild reports it at once.
        let free_path = dir.path().join("free");
        std::fs::create_dir(&free_path).expect("ok");
        std::fs::write(free_path.join("db"), b"").expect("ok");
        let free = HubError::Store(StoreError::Open {
            path: free_path,
            source: sled::Error::Io(std::io::Error::other("lock file has bad permissions")),
        });
        assert_eq!(store_in_use(&free), None);
        // A store that cannot be opened for another reason is not in use.
        let missing = HubError::Store(StoreError::Open {
            path: dir.path().join("absent"),
            source: sled::Error::Io(std::io::Error::other("could not acquire lock")),
        });
        assert_eq!(store_in_use(&missing), None);
    }
}
