//! The JSON API under `/api/…` and the CSV exports under `/export/…`.
//!
//! Every answer comes from the same [`crate::query`] functions as the gRPC
//! `Query` service, serialized with the canonical protobuf JSON mapping
//! (proto field names; 64-bit integers as strings; enums by name). Errors are
//! `{"error": "…"}`: 400 for malformed input, 404 for an unknown unit or a
//! unit and period with nothing recorded. Person-based counts below 5 are
//! always hidden here (`suppressed: true`, value 0).

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Serialize;
use sync178_shared::i18n::Lang;
use sync178_shared::period::Period;
use sync178_shared::proto::v1::{Kpi, KpiResponse, Rollup, RollupResponse};
use sync178_shared::unit::UnitId;

use super::fmt::HIDDEN;
use super::{App, Ctx};
use crate::query::{self, QueryError};
use crate::state::View;
use crate::{Hub, i18n};

/// Longest part of a request (its query string) quoted in an error, in characters.
pub const MAX_ECHO: usize = 100;
/// Longest error message answered, in characters.
pub const MAX_MESSAGE: usize = 240;

/// `text` cut to `max` characters (`…` marks a cut).
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// `{"error": why}` with `status`; `why` is cut to a bounded length, as it
/// may quote the request.
pub fn error(status: StatusCode, why: &str) -> Response {
    let body = serde_json::json!({ "error": clip(why, MAX_MESSAGE) }).to_string();
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// The HTTP status of a query error: 400 malformed, 404 unknown or empty.
pub fn status_of(e: &QueryError) -> StatusCode {
    match e {
        QueryError::Invalid { .. } => StatusCode::BAD_REQUEST,
        QueryError::UnknownUnit(_)
        | QueryError::NoData { .. }
        | QueryError::OtherStructure { .. } => StatusCode::NOT_FOUND,
    }
}

fn json<T: Serialize>(r: Result<T, QueryError>) -> Response {
    match r {
        Err(e) => error(status_of(&e), &e.to_string()),
        Ok(v) => match serde_json::to_string(&v) {
            Ok(body) => {
                let mut r = Response::new(Body::from(body));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                );
                r
            }
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
        },
    }
}

/// `?unit=` (default: the hub's root), checked against the topology and
/// limited to the hub's own tree.
pub fn unit_param(ctx: &Ctx, hub: &Hub, name: &str) -> Result<UnitId, QueryError> {
    match ctx.param(name) {
        None => Ok(hub.root),
        Some(s) => within(hub, query::unit(hub.topology(), s)?, s),
    }
}

/// `?view=`: `today` (the default) or `as-recorded`.
pub fn view_param(ctx: &Ctx) -> Result<View, QueryError> {
    query::view(ctx.param("view").unwrap_or(""))
}

/// `?unit=` read for figures of `p` by `view` (default: the hub's root),
/// limited to the hub's own tree.
pub fn unit_for(ctx: &Ctx, hub: &Hub, view: View, p: Period) -> Result<UnitId, QueryError> {
    match ctx.param("unit") {
        None => query::unit_in(&hub.history, view, &hub.root.to_string(), p),
        Some(s) => within(hub, query::unit_in(&hub.history, view, s, p)?, s),
    }
}

/// `u` if it is in the hub's tree (or, for a unit of an older listing, if
/// its place today is).
pub fn within(hub: &Hub, u: UnitId, s: &str) -> Result<UnitId, QueryError> {
    if hub.history.is_within(u, hub.root) {
        Ok(u)
    } else {
        Err(QueryError::UnknownUnit(s.to_string()))
    }
}

/// The latest year with events at the hub's root, else this year.
pub fn default_year(hub: &Hub) -> i32 {
    let s = hub.read();
    let s = s.view(View::Today);
    let lo = (hub.root, Period::Year { year: 0 });
    let hi = (hub.root, Period::Year { year: 9999 });
    s.proj
        .cells
        .range(lo..=hi)
        .filter(|(_, c)| c.first().is_some_and(|n| *n > 0))
        .map(|((_, p), _)| p.year())
        .max()
        .unwrap_or_else(|| time::OffsetDateTime::now_utc().year())
}

/// The period of a whole year.
pub fn year_period(y: u32) -> Period {
    Period::Year {
        year: i32::try_from(y).unwrap_or(0),
    }
}

/// `?period=` (default: the default year).
pub fn period_param(ctx: &Ctx, hub: &Hub) -> Result<Period, QueryError> {
    match ctx.param("period") {
        None => Ok(Period::Year {
            year: default_year(hub),
        }),
        Some(s) => query::period(s),
    }
}

/// `?year=` (default: the year of `?period=`, else the default year).
pub fn year_param(ctx: &Ctx, hub: &Hub) -> Result<u32, QueryError> {
    match ctx.param("year") {
        Some(s) => s.parse().map_err(|_| QueryError::Invalid {
            field: "year",
            reason: format!("{s:?} is not a year"),
        }),
        None => Ok(u32::try_from(period_param(ctx, hub)?.year()).unwrap_or(0)),
    }
}

/// `GET /api/kpis?unit=&year=` → `KpiResponse`.
pub async fn kpis(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    json((|| {
        let (v, y) = (view_param(&ctx)?, year_param(&ctx, h)?);
        let u = unit_for(&ctx, h, v, year_period(y))?;
        query::kpis(h.read().view(v), h.topology(), u, y, h.deadline_days, false)
    })())
}

/// `GET /api/rollup?unit=&period=` → `RollupResponse`.
pub async fn rollup(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    json((|| {
        let (v, p) = (view_param(&ctx)?, period_param(&ctx, h)?);
        let u = unit_for(&ctx, h, v, p)?;
        Ok(RollupResponse {
            rollup: Some(query::rollup(h.read().view(v), h.topology(), u, p, false)?),
        })
    })())
}

/// `GET /api/breakdown?unit=&period=` → `BreakdownResponse`.
pub async fn breakdown(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    json((|| {
        let (v, p) = (view_param(&ctx)?, period_param(&ctx, h)?);
        let u = unit_for(&ctx, h, v, p)?;
        query::breakdown(h.read().view(v), h.topology(), u, p, h.deadline_days, false)
    })())
}

/// `GET /api/completeness?unit=&period=` → `CompletenessResponse`.
pub async fn completeness(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    json((|| {
        let (v, p) = (view_param(&ctx)?, period_param(&ctx, h)?);
        let u = unit_for(&ctx, h, v, p)?;
        Ok(query::completeness(h.read().view(v), h.topology(), u, p))
    })())
}

/// `GET /api/sync-status?unit=` → `SyncStatusResponse`.
pub async fn sync_status(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    json((|| {
        let u = unit_param(&ctx, h, "unit")?;
        Ok(query::sync_status(
            &h.read(),
            h.topology(),
            u,
            h.node_heads().as_ref(),
        ))
    })())
}

/// `GET /api/units?under=` → `UnitsResponse`.
pub async fn units(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    json((|| {
        let u = unit_param(&ctx, h, "under")?;
        Ok(query::units(h.topology(), u))
    })())
}

// ------------------------------------------------------------------- CSV

/// One CSV field, quoted when it must be.
fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// CSV text (UTF-8 with BOM, CRLF lines) from rows of fields.
pub fn csv(rows: &[Vec<String>]) -> String {
    let mut out = String::from("\u{feff}");
    for r in rows {
        out.push_str(&r.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn attachment(name: &str, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

fn kpi_of(v: i32) -> Kpi {
    Kpi::try_from(v).unwrap_or(Kpi::Unspecified)
}

/// The percentage with one decimal and no sign: `85,0` / `85.0`.
fn pct_number(lang: Lang, bp: u32) -> String {
    i18n::percent_bp(lang, bp).trim_end_matches('%').to_string()
}

fn kpi_rows(lang: Lang, r: &KpiResponse, out: &mut Vec<Vec<String>>) {
    for k in &r.kpis {
        let kpi = kpi_of(k.kpi);
        let hidden = |n: u64| {
            if k.suppressed {
                HIDDEN.to_string()
            } else {
                n.to_string()
            }
        };
        out.push(vec![
            r.unit.clone(),
            r.unit_name.clone(),
            r.year.to_string(),
            crate::kpi::name(kpi),
            i18n::kpi_label(lang, kpi).to_string(),
            hidden(k.numerator),
            hidden(k.denominator),
            if k.has_value {
                pct_number(lang, k.value_bp)
            } else {
                String::new()
            },
            if k.has_target {
                pct_number(lang, k.target_bp)
            } else {
                String::new()
            },
            match (k.has_value && k.has_target, k.met) {
                (false, _) => String::new(),
                (true, m) => i18n::yes_no(lang, m).to_string(),
            },
        ]);
    }
}

/// `GET /export/kpis.csv?unit=&year=`: the KPIs of the unit and of each unit
/// directly under it, one row per unit and KPI.
pub async fn kpis_csv(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    let r = (|| {
        let (v, y) = (view_param(&ctx)?, year_param(&ctx, h)?);
        let u = unit_for(&ctx, h, v, year_period(y))?;
        let s = h.read();
        let s = s.view(v);
        let own = query::kpis(s, h.topology(), u, y, h.deadline_days, false)?;
        let year = Period::Year {
            year: i32::try_from(y).unwrap_or(0),
        };
        let below = query::breakdown(s, h.topology(), u, year, h.deadline_days, false)?;
        Ok((u, own, below.child_kpis))
    })();
    let (u, own, below) = match r {
        Ok(v) => v,
        Err(e) => return error(status_of(&e), &e.to_string()),
    };
    let lang = ctx.lang;
    let head = match lang {
        Lang::Vi => [
            "mã đơn vị",
            "đơn vị",
            "năm",
            "mã chỉ tiêu",
            "chỉ tiêu",
            "tử số",
            "mẫu số",
            "kết quả (%)",
            "mục tiêu (%)",
            "đạt",
        ],
        Lang::En => [
            "unit id",
            "unit",
            "year",
            "kpi id",
            "kpi",
            "numerator",
            "denominator",
            "value (%)",
            "target (%)",
            "met",
        ],
    };
    let mut rows = vec![head.iter().map(|s| s.to_string()).collect()];
    kpi_rows(lang, &own, &mut rows);
    for c in &below {
        kpi_rows(lang, c, &mut rows);
    }
    attachment(&format!("kpis-{u}-{}.csv", own.year), csv(&rows))
}

fn metric_cells(r: &Rollup, names: &[String]) -> Vec<String> {
    names
        .iter()
        .map(|n| match r.metrics.iter().find(|m| m.name == *n) {
            Some(m) if m.suppressed => HIDDEN.to_string(),
            Some(m) => m.value.to_string(),
            None => "0".to_string(),
        })
        .collect()
}

/// `GET /export/breakdown.csv?unit=&period=`: the counts of the unit and of
/// each unit directly under it for the period, one row per unit.
pub async fn breakdown_csv(State(app): State<App>, ctx: Ctx) -> Response {
    let h = &app.hub;
    let r = (|| {
        let (v, p) = (view_param(&ctx)?, period_param(&ctx, h)?);
        let u = unit_for(&ctx, h, v, p)?;
        Ok((
            u,
            p,
            query::breakdown(h.read().view(v), h.topology(), u, p, h.deadline_days, false)?,
        ))
    })();
    let (u, p, b) = match r {
        Ok(v) => v,
        Err(e) => return error(status_of(&e), &e.to_string()),
    };
    let lang = ctx.lang;
    let Some(total) = b.total else {
        return error(StatusCode::NOT_FOUND, "nothing recorded");
    };
    let names: Vec<String> = total.metrics.iter().map(|m| m.name.clone()).collect();
    let mut head = match lang {
        Lang::Vi => vec!["mã đơn vị".to_string(), "đơn vị".into(), "kỳ".into()],
        Lang::En => vec!["unit id".to_string(), "unit".into(), "period".into()],
    };
    head.extend(names.iter().map(|n| i18n::metric_label(lang, n)));
    let period = i18n::period_label(lang, &p.to_string());
    let mut rows = vec![head];
    for r in std::iter::once(&total).chain(b.children.iter()) {
        let mut row = vec![r.unit.clone(), r.unit_name.clone(), period.clone()];
        row.extend(metric_cells(r, &names));
        rows.push(row);
    }
    attachment(&format!("breakdown-{u}-{p}.csv"), csv(&rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_bom_crlf_and_quotes() {
        let s = csv(&[
            vec!["a".into(), "b,c".into()],
            vec!["\"q\"".into(), "Xã Tân Tiến".into()],
        ]);
        assert!(s.starts_with('\u{feff}'));
        assert_eq!(&s[3..], "a,\"b,c\"\r\n\"\"\"q\"\"\",Xã Tân Tiến\r\n");
    }

    #[test]
    fn percent_numbers_follow_the_language() {
        assert_eq!(pct_number(Lang::Vi, 8_500), "85,0");
        assert_eq!(pct_number(Lang::En, 12_345), "123.4");
    }

    #[test]
    fn errors_map_to_statuses() {
        assert_eq!(
            status_of(&QueryError::Invalid {
                field: "year",
                reason: String::new()
            }),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            status_of(&QueryError::UnknownUnit("c1".into())),
            StatusCode::NOT_FOUND
        );
    }
}
