//! The HTML pages: a unit's page (the province overview at `/`, a district or
//! commune at `/unit/{id}`), completeness and sync health (`/health`), and
//! the shared page pieces (sign-in is [`super::login`]). Everything shown comes from [`crate::query`]; every
//! text from data is escaped. `?fragment=main` answers only the main content,
//! which the page's script fetches and swaps in when the hub moves.
//!
//! A commune's "recent activity" is its roll-up by month (counts only): the
//! page never shows an event's content, and never a client reference.

use std::fmt::Write as _;

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::Response;
use sync178_shared::i18n::Lang;
use sync178_shared::period::{Period, PeriodKind};
use sync178_shared::proto::v1::{BreakdownResponse, Kpi, KpiResponse, KpiValue, Rollup};
use sync178_shared::unit::{Level, UnitId};

use super::auth::Access;
use super::fmt as f;
use super::html::{esc, link};
use super::svg::{self, Bar, Spark};
use super::{App, Ctx, STYLE, api};
use crate::i18n::{self, Msg};
use crate::kpi;
use crate::query::{self, QueryError};
use crate::state::{State as HubState, View as Structure};

/// A units whose own last event is older than this is "quiet" (amber).
pub const QUIET_AFTER_MS: i64 = 30 * 86_400_000;
/// A sync lag above this is amber.
pub const LAG_WARN_MS: i64 = 3_600_000;
/// A sync lag above this is red.
pub const LAG_BAD_MS: i64 = 86_400_000;

pub(crate) fn t<'a>(lang: Lang, vi: &'a str, en: &'a str) -> &'a str {
    lang.pick(vi, en)
}

pub(crate) fn html_response(status: StatusCode, body: String) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    r
}

fn period_label(lang: Lang, p: Period) -> String {
    match lang {
        Lang::Vi => p.label_vi(),
        Lang::En => p.label_en(),
    }
}

fn kpi_of(v: i32) -> Kpi {
    Kpi::try_from(v).unwrap_or(Kpi::Unspecified)
}

fn kpi_by_name(s: &str) -> Option<Kpi> {
    kpi::ALL.iter().copied().find(|k| kpi::name(*k) == s)
}

fn level_name(lang: Lang, l: Level) -> &'static str {
    match l {
        Level::Province => t(lang, "Tỉnh", "Province"),
        Level::District => t(lang, "Huyện", "District"),
        Level::Commune => t(lang, "Xã", "Commune"),
    }
}

fn by_level(lang: Lang, l: Level) -> &'static str {
    match l {
        Level::District => t(lang, "Theo huyện", "By district"),
        _ => t(lang, "Theo xã", "By commune"),
    }
}

// ------------------------------------------------------------------ view

/// How to sort the tables of units below.
#[derive(Debug, Clone, PartialEq, Eq)]
enum SortKey {
    /// Topology order.
    None,
    Name,
    Metric(String),
    Kpi(Kpi),
}

impl SortKey {
    fn parse(s: Option<&str>) -> SortKey {
        match s {
            None => SortKey::None,
            Some("name") => SortKey::Name,
            Some(s) => {
                if let Some(m) = s.strip_prefix("m.") {
                    SortKey::Metric(m.to_string())
                } else if let Some(k) = s.strip_prefix("k.").and_then(kpi_by_name) {
                    SortKey::Kpi(k)
                } else {
                    SortKey::None
                }
            }
        }
    }

    fn param(&self) -> String {
        match self {
            SortKey::None => String::new(),
            SortKey::Name => "name".into(),
            SortKey::Metric(m) => format!("m.{m}"),
            SortKey::Kpi(k) => format!("k.{}", kpi::name(*k)),
        }
    }
}

/// What one request of a unit's page asks for.
#[derive(Clone)]
struct View {
    lang: Lang,
    path: String,
    unit: UnitId,
    period: Period,
    /// By today's structure or by the structure of the time.
    by: Structure,
    sort: SortKey,
    desc: bool,
    chart: Kpi,
}

impl View {
    fn year(&self) -> u32 {
        u32::try_from(self.period.year()).unwrap_or(0)
    }

    /// A link to this page with some parameters changed.
    fn href(&self, period: Period, sort: &SortKey, desc: bool, chart: Kpi) -> String {
        let p = period.to_string();
        let s = sort.param();
        let c = if chart == Kpi::InspectionCoverage {
            String::new()
        } else {
            kpi::name(chart)
        };
        let d = if desc && *sort != SortKey::None {
            "desc"
        } else {
            ""
        };
        link(
            &self.path,
            &[
                ("period", &p),
                ("view", view_param(self.by)),
                ("sort", &s),
                ("dir", d),
                ("chart", &c),
            ],
        )
    }

    /// This page by the other structure.
    fn with_structure(&self, by: Structure) -> String {
        View { by, ..self.clone() }.href(self.period, &self.sort, self.desc, self.chart)
    }

    fn with_period(&self, p: Period) -> String {
        self.href(p, &self.sort, self.desc, self.chart)
    }

    fn with_sort(&self, key: SortKey) -> String {
        // A second click on the same column flips the order; numbers start high.
        let desc = if key == self.sort {
            !self.desc
        } else {
            key != SortKey::Name
        };
        self.href(self.period, &key, desc, self.chart)
    }

    fn with_chart(&self, k: Kpi) -> String {
        self.href(self.period, &self.sort, self.desc, k) + "#by-unit"
    }

    fn unit_link(&self, u: &str) -> String {
        link(
            &format!("/unit/{u}"),
            &[
                ("period", &self.period.to_string()),
                ("view", view_param(self.by)),
            ],
        )
    }
}

/// The `?view=` value of `by` (empty for the default).
fn view_param(by: Structure) -> &'static str {
    match by {
        Structure::Today => "",
        Structure::AsRecorded => "as-recorded",
    }
}

/// The switch between today's structure and the structure of the time,
/// shown when the hub's history has more than one listing.
fn structure_switch(app: &App, v: &View) -> String {
    if app.hub.history.listings().len() < 2 {
        return String::new();
    }
    let lang = v.lang;
    let item = |by: Structure, vi: &str, en: &str| {
        let on = if v.by == by {
            r#" class="on" aria-current="true""#
        } else {
            ""
        };
        format!(
            r#"<a id="view-{id}" href="{href}"{on}>{text}</a>"#,
            id = if by == Structure::Today {
                "today"
            } else {
                "as-recorded"
            },
            href = esc(&v.with_structure(by)),
            text = esc(t(lang, vi, en)),
        )
    };
    format!(
        r#"<span class="structure" role="group" aria-label="{label}">{}{}</span>"#,
        item(
            Structure::Today,
            "Theo địa giới hiện nay",
            "By today's structure"
        ),
        item(
            Structure::AsRecorded,
            "Theo địa giới tại thời điểm báo cáo",
            "By the structure at the time"
        ),
        label = esc(t(lang, "Địa giới hành chính", "Administrative structure")),
    )
}

fn view_of(app: &App, ctx: &Ctx, unit: UnitId) -> Result<View, QueryError> {
    let period = api::period_param(ctx, &app.hub)?;
    let by = api::view_param(ctx)?;
    // By the structure of the time, a unit not in force in the period is
    // refused with the units to ask instead.
    query::unit_in(&app.hub.history, by, &unit.to_string(), period)?;
    let sort = SortKey::parse(ctx.param("sort"));
    let chart = ctx
        .param("chart")
        .and_then(kpi_by_name)
        .or(match &sort {
            SortKey::Kpi(k) => Some(*k),
            _ => None,
        })
        .unwrap_or(Kpi::InspectionCoverage);
    Ok(View {
        lang: ctx.lang,
        path: ctx.path.clone(),
        unit,
        period,
        by,
        desc: ctx.param("dir") == Some("desc"),
        sort,
        chart,
    })
}

// ---------------------------------------------------------------- layout

struct Shell<'a> {
    title: String,
    crumbs: String,
    picker: String,
    main: String,
    checkpoint: u64,
    ctx: &'a Ctx,
}

fn lang_links(ctx: &Ctx) -> String {
    let mut params: Vec<(&str, &str)> = ctx
        .params
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "lang" | "fragment"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    params.sort();
    let mk = |l: &'static str| {
        let mut p = params.clone();
        p.push(("lang", l));
        link(&ctx.path, &p)
    };
    let on = |l: Lang| {
        if ctx.lang == l {
            " class=\"on\" aria-current=\"true\""
        } else {
            ""
        }
    };
    format!(
        r#"<span class="langs"><a id="lang-vi" hreflang="vi" lang="vi" href="{}"{}>Tiếng Việt</a><a id="lang-en" hreflang="en" lang="en" href="{}"{}>English</a></span>"#,
        esc(&mk("vi")),
        on(Lang::Vi),
        esc(&mk("en")),
        on(Lang::En)
    )
}

fn page(app: &App, s: Shell<'_>) -> String {
    let lang = s.ctx.lang;
    let root_name = app.hub.topology().name(app.hub.root).unwrap_or_default();
    let mut out = String::with_capacity(s.main.len() + 16_384);
    let _ = write!(
        out,
        r#"<!doctype html><html lang="{hl}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><style>{STYLE}</style></head><body data-checkpoint="{cp}" data-lang="{hl}">"#,
        hl = t(lang, "vi", "en"),
        title = esc(&s.title),
        cp = s.checkpoint,
    );
    let period = s.ctx.param("period").unwrap_or_default().to_string();
    let _ = write!(
        out,
        r#"<header class="top"><a class="brand" href="{home}"><span class="mark">178</span><span><span class="org">{org}</span><span class="app">{app_name}</span></span></a><nav class="nav"><a href="{home}">{overview}</a><a href="{health}">{health_t}</a></nav><div class="tools"><input id="goto" type="search" list="units-list" autocomplete="off" placeholder="{find}" aria-label="{find}"><datalist id="units-list"></datalist><span id="live" class="live" title="{live_title}">{live}</span>{langs}{who}</div></header>"#,
        home = esc(&link("/", &[("period", &period)])),
        org = esc(root_name),
        app_name = t(
            lang,
            "Phòng, chống mại dâm — theo dõi chỉ tiêu",
            "Prostitution prevention — indicator dashboard"
        ),
        overview = t(lang, "Tổng quan", "Overview"),
        health = esc(&link("/health", &[("period", &period)])),
        health_t = t(lang, "Đồng bộ & đầy đủ", "Sync & completeness"),
        find = t(lang, "Tìm đơn vị…", "Find a unit…"),
        live_title = t(
            lang,
            "Tự cập nhật khi hub nhận sự kiện mới",
            "Updates by itself when the hub applies new events"
        ),
        live = t(lang, "Trực tiếp", "Live"),
        langs = lang_links(s.ctx),
        who = match &s.ctx.access {
            Access::Operator(name) => format!(
                r#"<form class="who" method="post" action="/logout"><span title="{n}">{n}</span><button type="submit">{out}</button></form>"#,
                n = esc(name),
                out = t(lang, "Đăng xuất", "Sign out")
            ),
            _ => String::new(),
        },
    );
    let _ = write!(
        out,
        r#"<div class="sub"><nav class="crumbs">{}</nav>{}</div>"#,
        s.crumbs, s.picker
    );
    let _ = write!(out, r#"<main id="main">{}</main>"#, s.main);
    out.push_str(r#"<script src="/static/app.js"></script></body></html>"#);
    out
}

fn crumbs(app: &App, v: &View) -> String {
    let topo = app.hub.topology();
    let mut chain: Vec<UnitId> = std::iter::once(v.unit)
        .chain(topo.ancestors(v.unit))
        .take_while(|u| topo.is_within(*u, app.hub.root))
        .collect();
    chain.reverse();
    chain
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let name = topo.name(*u).unwrap_or_default();
            if i + 1 == chain.len() {
                format!(r#"<span aria-current="page">{}</span>"#, esc(name))
            } else {
                format!(
                    r#"<a href="{}">{}</a>"#,
                    esc(&v.unit_link(&u.to_string())),
                    esc(name)
                )
            }
        })
        .collect::<Vec<_>>()
        .join(r#"<span class="sep">›</span>"#)
}

fn years(app: &App, s: &HubState, around: i32) -> Vec<i32> {
    let lo = (app.hub.root, Period::Year { year: 0 });
    let hi = (app.hub.root, Period::Year { year: 9999 });
    let mut ys: Vec<i32> = s
        .proj
        .cells
        .range(lo..=hi)
        .filter(|(_, c)| c.first().is_some_and(|n| *n > 0))
        .map(|((_, p), _)| p.year())
        .collect();
    if !ys.contains(&around) {
        ys.push(around);
    }
    ys.sort_unstable();
    ys
}

fn picker(lang: Lang, years: &[i32], current: Period, href: &dyn Fn(Period) -> String) -> String {
    let y = current.year();
    let chip = |p: Period, text: &str, title: &str| {
        let on = if p == current {
            r#" class="on" aria-current="true""#
        } else {
            ""
        };
        format!(
            r#"<a href="{}"{on} title="{}">{}</a>"#,
            esc(&href(p)),
            esc(title),
            esc(text)
        )
    };
    let mut s = format!(
        r#"<nav class="picker" aria-label="{}"><span class="plabel">{}</span><span class="seg">"#,
        t(lang, "Kỳ báo cáo", "Period"),
        t(lang, "Kỳ", "Period")
    );
    for yy in years {
        let p = match current {
            Period::Year { .. } => Period::Year { year: *yy },
            Period::Half { half, .. } => Period::Half { year: *yy, half },
            Period::Quarter { quarter, .. } => Period::Quarter { year: *yy, quarter },
            Period::Month { month, .. } => Period::Month { year: *yy, month },
        };
        let on = if *yy == y { r#" class="on""# } else { "" };
        let _ = write!(s, r#"<a href="{}"{on}>{yy}</a>"#, esc(&href(p)));
    }
    s.push_str(r#"</span><span class="seg">"#);
    let whole = Period::Year { year: y };
    s.push_str(&chip(
        whole,
        t(lang, "Cả năm", "Year"),
        &period_label(lang, whole),
    ));
    for half in 1..=2u8 {
        let p = Period::Half { year: y, half };
        let text = match (lang, half) {
            (Lang::Vi, 1) => "6T đầu".to_string(),
            (Lang::Vi, _) => "6T cuối".to_string(),
            (Lang::En, h) => format!("H{h}"),
        };
        s.push_str(&chip(p, &text, &period_label(lang, p)));
    }
    s.push_str(r#"</span><span class="seg">"#);
    for quarter in 1..=4u8 {
        let p = Period::Quarter { year: y, quarter };
        s.push_str(&chip(p, &format!("Q{quarter}"), &period_label(lang, p)));
    }
    s.push_str(r#"</span><span class="seg months">"#);
    for month in 1..=12u8 {
        let p = Period::Month { year: y, month };
        s.push_str(&chip(
            p,
            &f::month_short(lang, month),
            &period_label(lang, p),
        ));
    }
    s.push_str("</span></nav>");
    s
}

// ------------------------------------------------------------ unit pages

/// `GET /`: the province (the hub's root) overview.
pub async fn overview(State(app): State<App>, ctx: Ctx) -> Response {
    let root = app.hub.root;
    unit_page(&app, &ctx, root)
}

/// `GET /unit/{id}`: a district's or commune's page (the root's is the overview).
pub async fn unit(State(app): State<App>, Path(id): Path<String>, ctx: Ctx) -> Response {
    match query::unit(app.hub.topology(), &id).and_then(|u| api::within(&app.hub, u, &id)) {
        Ok(u) => unit_page(&app, &ctx, u),
        Err(e) => ctx.finish(message_page(ctx.lang, api::status_of(&e), &e.to_string())),
    }
}

fn unit_page(app: &App, ctx: &Ctx, unit: UnitId) -> Response {
    let v = match view_of(app, ctx, unit) {
        Ok(v) => v,
        Err(e) => return ctx.finish(message_page(ctx.lang, api::status_of(&e), &e.to_string())),
    };
    let guard = app.hub.read();
    let s = guard.view(v.by);
    let main = unit_main(app, s, &v);
    if ctx.param("fragment") == Some("main") {
        return ctx.finish(html_response(StatusCode::OK, main));
    }
    let name = app.hub.topology().name(unit).unwrap_or_default();
    let ys = years(app, s, v.period.year());
    let shell = Shell {
        title: format!("{name} · {} — sync178", period_label(v.lang, v.period)),
        crumbs: crumbs(app, &v),
        picker: structure_switch(app, &v) + &picker(v.lang, &ys, v.period, &|p| v.with_period(p)),
        main,
        checkpoint: s.checkpoint,
        ctx,
    };
    drop(guard);
    ctx.finish(html_response(StatusCode::OK, page(app, shell)))
}

fn metric(r: Option<&Rollup>, name: &str) -> (u64, bool) {
    r.and_then(|r| r.metrics.iter().find(|m| m.name == name))
        .map_or((0, false), |m| (m.value, m.suppressed))
}

/// The counts behind a KPI, shown by quarter next to it.
fn driver(k: Kpi) -> (&'static [&'static str], &'static str, &'static str) {
    match k {
        Kpi::InspectionCoverage => (&["inspections"], "cuộc kiểm tra", "inspections"),
        Kpi::CommunesWithAwareness => (
            &["awareness.activities"],
            "buổi tuyên truyền",
            "awareness events",
        ),
        Kpi::CommunesWithPlan => (&["plans.adopted"], "kế hoạch", "plans adopted"),
        Kpi::TipoffsOnTime => (&["tipoffs.closed"], "tin báo xong", "tip-offs closed"),
        Kpi::ServiceAccess => (&["services.provided"], "lượt hỗ trợ", "services"),
        Kpi::PilotModelCoverage => (&["pilot_models.started"], "mô hình mới", "models started"),
        Kpi::WorkersReached => (
            &[
                "inspections.workers_reached",
                "awareness.participants.business_workers",
            ],
            "NLĐ tiếp cận",
            "workers reached",
        ),
        Kpi::HealthyCommunes => (&["healthy.assessments"], "lượt đánh giá", "assessments"),
        Kpi::ViolationsHandled => (&["penalties", "referrals"], "xử phạt, chuyển", "decisions"),
        Kpi::Unspecified => (&[], "", ""),
    }
}

fn kpi_value_text(lang: Lang, k: &KpiValue) -> String {
    if k.suppressed {
        f::HIDDEN.to_string()
    } else if k.has_value {
        f::percent(lang, k.value_bp)
    } else {
        i18n::t(lang, Msg::NoValue).to_string()
    }
}

fn met_class(k: &KpiValue) -> &'static str {
    match (k.has_value && !k.suppressed, k.has_target) {
        (true, true) if k.met => "met",
        (true, true) => "notmet",
        (true, false) => "notarget",
        _ => "na",
    }
}

fn kpi_cards(v: &View, r: &KpiResponse, quarters: &[Option<Rollup>]) -> String {
    let lang = v.lang;
    let mut s = String::from(r#"<div class="cards">"#);
    for k in &r.kpis {
        let kpi = kpi_of(k.kpi);
        let name = kpi::name(kpi);
        let class = met_class(k);
        let badge = match class {
            "met" => format!(
                r#"<span class="badge ok">{}</span>"#,
                i18n::t(lang, Msg::Met)
            ),
            "notmet" => format!(
                r#"<span class="badge bad">{}</span>"#,
                i18n::t(lang, Msg::NotMet)
            ),
            _ => String::new(),
        };
        let target = if k.has_target {
            format!(
                "{} {}",
                t(lang, "Mục tiêu", "Target"),
                f::percent(lang, k.target_bp)
            )
        } else {
            t(lang, "Chưa có mục tiêu", "No target").to_string()
        };
        let frac = if k.suppressed {
            format!("{} / {}", f::HIDDEN, f::HIDDEN)
        } else {
            format!(
                "{} / {}",
                f::int(lang, k.numerator),
                f::int(lang, k.denominator)
            )
        };
        let (metrics, cap_vi, cap_en) = driver(kpi);
        let bars: Vec<Spark> = quarters
            .iter()
            .enumerate()
            .map(|(i, q)| {
                let value: u64 = metrics.iter().map(|m| metric(q.as_ref(), m).0).sum();
                let p = Period::Quarter {
                    year: v.period.year(),
                    quarter: u8::try_from(i + 1).unwrap_or(1),
                };
                Spark {
                    label: format!(
                        "{}: {} {}",
                        period_label(lang, p),
                        f::int(lang, value),
                        t(lang, cap_vi, cap_en)
                    ),
                    value,
                }
            })
            .collect();
        let caption = format!("{}/{}", t(lang, cap_vi, cap_en), t(lang, "quý", "qtr"));
        let _ = write!(
            s,
            r#"<a class="card {class}" id="kpi-{name}" href="{href}" title="{full}"><span class="k-label">{label}</span><span class="k-row"><span class="k-value" data-kpi="{name}">{value}</span><span class="k-spark">{spark}<span class="k-cap">{caption}</span></span></span><span class="k-frac">{frac}</span><span class="k-target">{badge}<span>{target}</span></span></a>"#,
            href = esc(&v.with_chart(kpi)),
            full = esc(&format!(
                "{} — {}",
                i18n::kpi_label(lang, kpi),
                t(lang, "xem theo đơn vị trực thuộc", "see by unit below")
            )),
            label = esc(i18n::kpi_label(lang, kpi)),
            value = esc(&kpi_value_text(lang, k)),
            spark = svg::sparkbars(&bars, 84, 30, &caption),
            caption = esc(&caption),
            frac = esc(&frac),
            target = esc(&target),
        );
    }
    s.push_str("</div>");
    s
}

/// The counts shown for a unit and period, in order: (metric, money?).
const STATS: &[(&str, bool)] = &[
    ("events", false),
    ("inspections", false),
    ("violations", false),
    ("penalties.fines_vnd", true),
    ("tipoffs.received", false),
    ("awareness.activities", false),
    ("services.provided", false),
    ("clients.served", false),
];

fn metric_text(lang: Lang, r: Option<&Rollup>, name: &str, money: bool) -> String {
    let (n, hidden) = metric(r, name);
    if hidden {
        f::HIDDEN.to_string()
    } else if money {
        f::money(lang, n)
    } else {
        f::int(lang, n)
    }
}

fn stats(lang: Lang, r: Option<&Rollup>) -> String {
    let mut s = String::from(r#"<div class="stats">"#);
    for (name, money) in STATS {
        let _ = write!(
            s,
            r#"<div class="stat" id="m-{id}"><span class="s-val">{val}</span><span class="s-lab">{lab}</span></div>"#,
            id = name.replace('.', "_"),
            val = esc(&metric_text(lang, r, name, *money)),
            lab = esc(&i18n::metric_label(lang, name)),
        );
    }
    s.push_str("</div>");
    s
}

fn section(id: &str, title: &str, extra: &str, body: &str) -> String {
    format!(
        r#"<section id="{id}"><div class="sec-head"><h2>{}</h2>{extra}</div>{body}</section>"#,
        esc(title)
    )
}

fn unit_main(app: &App, s: &HubState, v: &View) -> String {
    let lang = v.lang;
    let hub = &app.hub;
    let topo = hub.topology();
    let name = topo.name(v.unit).unwrap_or_default();
    let plabel = period_label(lang, v.period);
    let mut m = String::new();
    let unit_s = v.unit.to_string();
    let period_s = v.period.to_string();
    let year_s = v.year().to_string();
    let _ = write!(
        m,
        r#"<div class="title-row"><div><h1>{name}</h1><div class="muted">{level} · <code>{unit}</code> · {plabel}</div></div><div class="actions"><a class="btn" download href="{kcsv}">⬇ {kt}</a><a class="btn" download href="{bcsv}">⬇ {bt}</a></div></div>"#,
        name = esc(name),
        level = esc(level_name(lang, v.unit.level())),
        unit = esc(&unit_s),
        plabel = esc(&plabel),
        kcsv = esc(&link(
            "/export/kpis.csv",
            &[
                ("unit", &unit_s),
                ("year", &year_s),
                ("view", view_param(v.by)),
                ("lang", t(lang, "vi", "en"))
            ]
        )),
        bcsv = esc(&link(
            "/export/breakdown.csv",
            &[
                ("unit", &unit_s),
                ("period", &period_s),
                ("view", view_param(v.by)),
                ("lang", t(lang, "vi", "en"))
            ]
        )),
        kt = t(lang, "CSV chỉ tiêu", "KPI CSV"),
        bt = t(lang, "CSV số liệu", "Counts CSV"),
    );

    // KPIs of the year, with the counts behind them by quarter.
    let kpis = query::kpis(s, topo, v.unit, v.year(), hub.deadline_days, false);
    let quarters: Vec<Option<Rollup>> = (1..=4u8)
        .map(|quarter| {
            query::rollup(
                s,
                topo,
                v.unit,
                Period::Quarter {
                    year: v.period.year(),
                    quarter,
                },
                false,
            )
            .ok()
        })
        .collect();
    let kpi_note = if v.period.kind() == PeriodKind::Year {
        String::new()
    } else {
        format!(
            r#"<span class="note">{}</span>"#,
            t(
                lang,
                "Chỉ tiêu tính cho cả năm",
                "KPIs are for the whole year"
            )
        )
    };
    let body = match &kpis {
        Ok(r) => kpi_cards(v, r, &quarters),
        Err(e) => empty_note(lang, e),
    };
    m.push_str(&section(
        "kpis",
        &format!("{} {}", t(lang, "Chỉ tiêu năm", "KPIs"), v.year()),
        &kpi_note,
        &body,
    ));

    // Counts of the period.
    let roll = query::rollup(s, topo, v.unit, v.period, false);
    let body = match &roll {
        Ok(r) => stats(lang, Some(r)),
        Err(e) => empty_note(lang, e),
    };
    m.push_str(&section(
        "counts",
        &format!("{} · {}", t(lang, "Số liệu", "Counts"), plabel),
        "",
        &body,
    ));

    if topo.children(v.unit).is_empty() {
        m.push_str(&commune_sections(
            s,
            topo,
            v,
            roll.as_ref().ok(),
            app.hub.node_heads().as_ref(),
        ));
    } else {
        match query::breakdown(s, topo, v.unit, v.period, hub.deadline_days, false) {
            Ok(b) => m.push_str(&children_sections(v, &b, kpis.as_ref().ok())),
            Err(e) => {
                let child = topo
                    .children(v.unit)
                    .first()
                    .map_or(Level::Commune, |c| c.level());
                m.push_str(&section(
                    "by-unit",
                    by_level(lang, child),
                    "",
                    &empty_note(lang, &e),
                ));
            }
        }
    }

    // Completeness in one line.
    let c = query::completeness(s, topo, v.unit, v.period);
    let silent = c.units.iter().filter(|u| u.events == 0).count();
    let cls = if silent == 0 { "ok" } else { "warn" };
    let _ = write!(
        m,
        r#"<p class="complete {cls}">{} · <a href="{}">{}</a></p>"#,
        esc(&i18n::silent_units(lang, silent, c.units.len())),
        esc(&link(
            "/health",
            &[("unit", &unit_s), ("period", &period_s)]
        )),
        t(
            lang,
            "xem đồng bộ và mức đầy đủ",
            "see sync and completeness"
        ),
    );
    m.push_str(&footer(lang, s.checkpoint));
    m
}

fn footer(lang: Lang, checkpoint: u64) -> String {
    format!(
        r#"<p class="foot"><span id="checkpoint">{} {}</span> · {} {} · {}</p>"#,
        t(
            lang,
            "Vị trí đã xử lý trên nguồn dữ liệu:",
            "Feed position applied:"
        ),
        f::int(lang, checkpoint),
        t(lang, "cập nhật lúc", "updated at"),
        f::time_ms(f::now_ms()),
        esc(t(
            lang,
            "<5: số người dưới 5 được ẩn để bảo vệ người được hỗ trợ. Không hiển thị thông tin cá nhân.",
            "<5: person counts below 5 are hidden to protect clients. No personal data is shown."
        )),
    )
}

fn empty_note(lang: Lang, e: &QueryError) -> String {
    match e {
        QueryError::NoData { .. } => format!(
            r#"<p class="empty">{}</p>"#,
            t(
                lang,
                "Chưa có sự kiện nào được ghi nhận trong kỳ này.",
                "No events recorded in this period."
            )
        ),
        other => format!(r#"<p class="empty">{}</p>"#, esc(&other.to_string())),
    }
}

struct ChildRow<'a> {
    unit: &'a str,
    name: &'a str,
    roll: &'a Rollup,
    kpis: Option<&'a KpiResponse>,
}

fn kpi_in(r: Option<&KpiResponse>, k: Kpi) -> Option<&KpiValue> {
    r.and_then(|r| r.kpis.iter().find(|x| x.kpi == k as i32))
}

fn sort_value(row: &ChildRow<'_>, key: &SortKey) -> i128 {
    match key {
        SortKey::Metric(m) => {
            let (n, hidden) = metric(Some(row.roll), m);
            if hidden { -1 } else { i128::from(n) }
        }
        SortKey::Kpi(k) => match kpi_in(row.kpis, *k) {
            Some(x) if x.has_value && !x.suppressed => i128::from(x.value_bp),
            _ => -1,
        },
        SortKey::None | SortKey::Name => 0,
    }
}

fn th(v: &View, key: SortKey, text: &str, title: &str, num: bool) -> String {
    let arrow = if key == v.sort {
        if v.desc { " ▼" } else { " ▲" }
    } else {
        ""
    };
    let sorted = if key == v.sort {
        if v.desc {
            r#" aria-sort="descending""#
        } else {
            r#" aria-sort="ascending""#
        }
    } else {
        ""
    };
    format!(
        r#"<th{cls}{sorted} title="{title}"><a href="{href}">{text}{arrow}</a></th>"#,
        cls = if num { r#" class="num""# } else { "" },
        title = esc(title),
        href = esc(&v.with_sort(key)),
        text = esc(text),
    )
}

/// The counts of the units-below table.
const CHILD_METRICS: &[(&str, bool)] = &[
    ("events", false),
    ("inspections", false),
    ("inspections.unannounced", false),
    ("violations", false),
    ("penalties", false),
    ("penalties.fines_vnd", true),
    ("tipoffs.received", false),
    ("tipoffs.closed", false),
    ("awareness.activities", false),
    ("services.provided", false),
    ("clients.in_need", false),
    ("clients.served", false),
];

fn children_sections(v: &View, b: &BreakdownResponse, own: Option<&KpiResponse>) -> String {
    let lang = v.lang;
    let mut rows: Vec<ChildRow<'_>> = b
        .children
        .iter()
        .map(|r| ChildRow {
            unit: &r.unit,
            name: &r.unit_name,
            roll: r,
            kpis: b.child_kpis.iter().find(|k| k.unit == r.unit),
        })
        .collect();
    // Stable both ways: units that tie keep the listing's order.
    match &v.sort {
        SortKey::None => {}
        SortKey::Name if v.desc => rows.sort_by(|a, b| b.name.cmp(a.name)),
        SortKey::Name => rows.sort_by(|a, b| a.name.cmp(b.name)),
        key if v.desc => rows.sort_by_key(|r| std::cmp::Reverse(sort_value(r, key))),
        key => rows.sort_by_key(|r| sort_value(r, key)),
    }
    let child_level = rows
        .first()
        .and_then(|r| r.unit.parse::<UnitId>().ok())
        .map_or(Level::Commune, |u| u.level());

    // The chart: one KPI across the units below, against the target here.
    let bars: Vec<Bar> = rows
        .iter()
        .map(|r| {
            let k = kpi_in(r.kpis, v.chart);
            Bar {
                label: r.name.to_string(),
                href: Some(v.unit_link(r.unit)),
                value_bp: k
                    .filter(|k| k.has_value && !k.suppressed)
                    .map(|k| k.value_bp),
                text: k.map_or_else(
                    || i18n::t(lang, Msg::NoValue).to_string(),
                    |k| kpi_value_text(lang, k),
                ),
                met: k.filter(|k| k.has_target && k.has_value).map(|k| k.met),
            }
        })
        .collect();
    let target = kpi_in(own, v.chart)
        .filter(|k| k.has_target)
        .map(|k| k.target_bp);
    let target_text = target.map_or_else(String::new, |bp| {
        format!("{} {}", t(lang, "Mục tiêu", "Target"), f::percent(lang, bp))
    });
    let chart_title = format!("{} · {}", i18n::kpi_label(lang, v.chart), v.year());
    let chart = svg::hbars(&bars, target, &target_text, 460, &chart_title);
    let mut chart_pick = String::from(r#"<div class="chips">"#);
    for k in kpi::ALL {
        let on = if k == v.chart { r#" class="on""# } else { "" };
        let _ = write!(
            chart_pick,
            r#"<a href="{}"{on} title="{}">{}</a>"#,
            esc(&v.with_chart(k)),
            esc(i18n::kpi_label(lang, k)),
            esc(i18n::kpi_short(lang, k))
        );
    }
    chart_pick.push_str("</div>");

    // KPI table.
    let mut kt = String::from(r#"<table class="data kpis"><thead><tr>"#);
    kt.push_str(&th(v, SortKey::Name, t(lang, "Đơn vị", "Unit"), "", false));
    for k in kpi::ALL {
        kt.push_str(&th(
            v,
            SortKey::Kpi(k),
            i18n::kpi_short(lang, k),
            i18n::kpi_label(lang, k),
            true,
        ));
    }
    kt.push_str("</tr></thead><tbody>");
    for r in &rows {
        let _ = write!(
            kt,
            r#"<tr><td class="name"><a href="{}">{}</a></td>"#,
            esc(&v.unit_link(r.unit)),
            esc(r.name)
        );
        for k in kpi::ALL {
            match kpi_in(r.kpis, k) {
                Some(x) => {
                    let _ = write!(
                        kt,
                        r#"<td class="num {}">{}</td>"#,
                        met_class(x),
                        esc(&kpi_value_text(lang, x))
                    );
                }
                None => kt.push_str(r#"<td class="num na">—</td>"#),
            }
        }
        kt.push_str("</tr>");
    }
    kt.push_str("</tbody></table>");
    let legend = format!(
        r#"<p class="legend"><span class="sw met"></span>{} <span class="sw notmet"></span>{} <span class="sw notarget"></span>{}</p>"#,
        i18n::t(lang, Msg::Met),
        i18n::t(lang, Msg::NotMet),
        t(lang, "chưa có mục tiêu", "no target"),
    );

    // Counts table.
    let mut ct = String::from(r#"<table class="data counts"><thead><tr>"#);
    ct.push_str(&th(v, SortKey::Name, t(lang, "Đơn vị", "Unit"), "", false));
    for (m, _) in CHILD_METRICS {
        ct.push_str(&th(
            v,
            SortKey::Metric((*m).to_string()),
            &i18n::metric_short(lang, m),
            &i18n::metric_label(lang, m),
            true,
        ));
    }
    ct.push_str("</tr></thead><tbody>");
    for r in &rows {
        let _ = write!(
            ct,
            r#"<tr><td class="name"><a href="{}">{}</a></td>"#,
            esc(&v.unit_link(r.unit)),
            esc(r.name)
        );
        for (m, money) in CHILD_METRICS {
            let _ = write!(
                ct,
                r#"<td class="num">{}</td>"#,
                esc(&metric_text(lang, Some(r.roll), m, *money))
            );
        }
        ct.push_str("</tr>");
    }
    if let Some(total) = &b.total {
        let _ = write!(
            ct,
            r#"<tr class="total"><td class="name">{}</td>"#,
            i18n::t(lang, Msg::Total)
        );
        for (m, money) in CHILD_METRICS {
            let _ = write!(
                ct,
                r#"<td class="num">{}</td>"#,
                esc(&metric_text(lang, Some(total), m, *money))
            );
        }
        ct.push_str("</tr>");
    }
    ct.push_str("</tbody></table>");

    let mut out = section(
        "by-unit",
        &format!(
            "{} · {}",
            by_level(lang, child_level),
            t(lang, "chỉ tiêu", "KPIs")
        ),
        &chart_pick,
        &format!(
            r#"<div class="split"><figure class="chart"><figcaption>{}</figcaption>{chart}</figure><div class="scroll">{kt}{legend}</div></div>"#,
            esc(&chart_title)
        ),
    );
    out.push_str(&section(
        "counts-by-unit",
        &format!(
            "{} · {}",
            by_level(lang, child_level),
            t(lang, "số liệu", "counts")
        ),
        "",
        &format!(r#"<div class="scroll">{ct}</div>"#),
    ));
    out
}

/// The counts of a commune's months.
const MONTH_METRICS: &[(&str, bool)] = &[
    ("events", false),
    ("inspections", false),
    ("violations", false),
    ("penalties", false),
    ("penalties.fines_vnd", true),
    ("tipoffs.received", false),
    ("tipoffs.closed", false),
    ("awareness.activities", false),
    ("awareness.participants", false),
    ("services.provided", false),
    ("clients.served", false),
];

fn months_of(p: Period) -> Vec<Period> {
    match p {
        Period::Month { .. } => vec![p],
        Period::Quarter { .. } => p.children(),
        Period::Half { .. } | Period::Year { .. } => p
            .children()
            .into_iter()
            .flat_map(Period::children)
            .collect(),
    }
}

fn commune_sections(
    s: &HubState,
    topo: &sync178_shared::topology::Topology,
    v: &View,
    roll: Option<&Rollup>,
    node: Option<&crate::follower::NodeHeads>,
) -> String {
    let lang = v.lang;
    // Recent activity: the commune's roll-up by month, newest first (counts only).
    let mut months = months_of(v.period);
    months.reverse();
    let mut tb = String::from(r#"<table class="data months"><thead><tr>"#);
    let _ = write!(tb, "<th>{}</th>", t(lang, "Tháng", "Month"));
    for (m, _) in MONTH_METRICS {
        let _ = write!(
            tb,
            r#"<th class="num" title="{}">{}</th>"#,
            esc(&i18n::metric_label(lang, m)),
            esc(&i18n::metric_short(lang, m))
        );
    }
    tb.push_str("</tr></thead><tbody>");
    for p in months {
        let r = query::rollup(s, topo, v.unit, p, false).ok();
        let cls = if r.is_none() { r#" class="quiet""# } else { "" };
        let _ = write!(tb, r#"<tr{cls}><td>{}</td>"#, esc(&period_label(lang, p)));
        for (m, money) in MONTH_METRICS {
            let _ = write!(
                tb,
                r#"<td class="num">{}</td>"#,
                esc(&metric_text(lang, r.as_ref(), m, *money))
            );
        }
        tb.push_str("</tr>");
    }
    tb.push_str("</tbody></table>");
    let mut out = section(
        "recent",
        t(
            lang,
            "Hoạt động gần đây theo tháng",
            "Recent activity by month",
        ),
        &format!(
            r#"<span class="note">{}</span>"#,
            t(
                lang,
                "chỉ số lượng, không có thông tin cá nhân",
                "counts only, no personal data"
            )
        ),
        &format!(r#"<div class="scroll">{tb}</div>"#),
    );

    // Every non-zero count of the period.
    if let Some(r) = roll {
        let mut d = String::from(r#"<dl class="details">"#);
        for m in r.metrics.iter().filter(|m| m.value > 0 || m.suppressed) {
            let val = if m.suppressed {
                f::HIDDEN.to_string()
            } else if m.name.ends_with("_vnd") {
                f::money(lang, m.value)
            } else {
                f::int(lang, m.value)
            };
            let _ = write!(
                d,
                "<div><dt>{}</dt><dd>{}</dd></div>",
                esc(&i18n::metric_label(lang, &m.name)),
                esc(&val)
            );
        }
        d.push_str("</dl>");
        out.push_str(&section(
            "details",
            &format!(
                "{} · {}",
                t(lang, "Chi tiết", "Details"),
                period_label(lang, v.period)
            ),
            "",
            &d,
        ));
    }

    // Sync of the commune's own node.
    let sync = query::sync_status(s, topo, v.unit, node);
    let body = match sync.origins.iter().find(|o| o.origin == v.unit.to_string()) {
        Some(o) => format!(
            r#"<p class="sync {cls}">{} {} · {} {} · {} {} · {} {} · {} {}</p>"#,
            i18n::t(lang, Msg::ColLastSeq),
            f::int(lang, o.last_seq),
            i18n::t(lang, Msg::ColLastRecorded),
            esc(&f::datetime_ms(lang, o.last_recorded_at)),
            i18n::t(lang, Msg::ColLastReceived),
            esc(&f::datetime_ms(lang, o.last_received_at)),
            i18n::t(lang, Msg::ColLag),
            esc(&i18n::duration(lang, o.lag_ms)),
            i18n::t(lang, Msg::ColLagEvents),
            behind(lang, &sync, o),
            cls = lag_class(o.lag_ms, o.last_received_at),
        ),
        None => format!(
            r#"<p class="sync bad">{}</p>"#,
            i18n::t(lang, Msg::NoOrigins)
        ),
    };
    out.push_str(&section(
        "sync",
        t(lang, "Đồng bộ của xã", "The commune's sync"),
        "",
        &body,
    ));
    out
}

// ---------------------------------------------------------------- health

/// Events of `o` the node holds and the hub has not applied; "—" until the
/// hub has asked the node (never a zero it does not know).
fn behind(
    lang: Lang,
    sync: &sync178_shared::proto::v1::SyncStatusResponse,
    o: &sync178_shared::proto::v1::OriginLag,
) -> String {
    if sync.heads_at > 0 {
        f::int(lang, o.lag_events)
    } else {
        "—".to_owned()
    }
}

fn lag_class(lag_ms: i64, received_at: i64) -> &'static str {
    if lag_ms > LAG_BAD_MS {
        "bad"
    } else if lag_ms > LAG_WARN_MS
        || (received_at > 0 && f::now_ms() - received_at > QUIET_AFTER_MS)
    {
        "warn"
    } else {
        "ok"
    }
}

/// `GET /health?unit=&period=`: which units recorded nothing (red), which
/// have been quiet or lag (amber), per unit and per origin.
pub async fn health(State(app): State<App>, ctx: Ctx) -> Response {
    let hub = &app.hub;
    let lang = ctx.lang;
    let (unit, period) = match api::unit_param(&ctx, hub, "unit")
        .and_then(|u| Ok((u, api::period_param(&ctx, hub)?)))
    {
        Ok(v) => v,
        Err(e) => return ctx.finish(message_page(lang, api::status_of(&e), &e.to_string())),
    };
    let s = hub.read();
    let topo = hub.topology();
    let now = f::now_ms();
    let c = query::completeness(&s, topo, unit, period);
    let mut rows: Vec<(u8, String)> = Vec::new();
    let (mut silent, mut quiet) = (0, 0);
    for u in &c.units {
        let level = u
            .unit
            .parse::<UnitId>()
            .map_or(Level::Commune, |x| x.level());
        let (rank, cls, status) = if u.events == 0 {
            silent += 1;
            (0, "bad", i18n::t(lang, Msg::NothingRecorded).to_string())
        } else if u.last_recorded_at > 0 && now - u.last_recorded_at > QUIET_AFTER_MS {
            quiet += 1;
            (
                1,
                "warn",
                t(lang, "im lặng trên 30 ngày", "quiet for over 30 days").to_string(),
            )
        } else {
            (2, "ok", t(lang, "có ghi nhận", "recording").to_string())
        };
        let plan = if level == Level::Commune {
            if u.has_plan {
                i18n::t(lang, Msg::Yes)
            } else {
                i18n::t(lang, Msg::NoPlan)
            }
        } else {
            "—"
        };
        rows.push((
            rank,
            format!(
                r#"<tr class="st-{cls}"><td><span class="dot {cls}"></span><a href="{href}">{name}</a></td><td>{lvl}</td><td class="num">{ev}</td><td class="{plan_cls}">{plan}</td><td>{last}</td><td><span class="badge {cls}">{status}</span></td></tr>"#,
                href = esc(&link(&format!("/unit/{}", u.unit), &[("period", &period.to_string())])),
                name = esc(&u.name),
                lvl = esc(level_name(lang, level)),
                ev = f::int(lang, u.events),
                plan = esc(plan),
                plan_cls = if level == Level::Commune && !u.has_plan { "warn" } else { "" },
                last = esc(&f::datetime_ms(lang, u.last_recorded_at)),
                status = esc(&status),
            ),
        ));
    }
    rows.sort_by_key(|r| r.0);
    let mut ct = format!(
        r#"<table class="data health"><thead><tr><th>{}</th><th>{}</th><th class="num">{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>"#,
        i18n::t(lang, Msg::ColName),
        t(lang, "Cấp", "Level"),
        i18n::t(lang, Msg::ColEvents),
        i18n::t(lang, Msg::ColPlan),
        i18n::t(lang, Msg::ColLastRecorded),
        t(lang, "Trạng thái", "Status"),
    );
    for (_, r) in &rows {
        ct.push_str(r);
    }
    ct.push_str("</tbody></table>");

    let sync = query::sync_status(&s, topo, unit, hub.node_heads().as_ref());
    let mut origins: Vec<(u8, String)> = Vec::new();
    let mut lagging = 0;
    for o in &sync.origins {
        let cls = lag_class(o.lag_ms, o.last_received_at);
        let rank = match cls {
            "bad" => 0,
            "warn" => 1,
            _ => 2,
        };
        if rank < 2 {
            lagging += 1;
        }
        let status = match cls {
            "bad" => t(lang, "trễ trên 1 ngày", "over a day behind"),
            "warn" => t(lang, "trễ hoặc im lặng", "lagging or quiet"),
            _ => t(lang, "kịp thời", "on time"),
        };
        origins.push((
            rank,
            format!(
                r#"<tr class="st-{cls}"><td><span class="dot {cls}"></span><code>{o_id}</code> {name}</td><td class="num">{seq}</td><td>{rec}</td><td>{recv}</td><td class="num">{lag}</td><td class="num">{behind}</td><td><span class="badge {cls}">{status}</span></td></tr>"#,
                o_id = esc(&o.origin),
                name = esc(&o.name),
                seq = f::int(lang, o.last_seq),
                rec = esc(&f::datetime_ms(lang, o.last_recorded_at)),
                recv = esc(&f::datetime_ms(lang, o.last_received_at)),
                lag = esc(&i18n::duration(lang, o.lag_ms)),
                behind = behind(lang, &sync, o),
            ),
        ));
    }
    origins.sort_by_key(|r| r.0);
    let mut st = format!(
        r#"<table class="data health"><thead><tr><th>{}</th><th class="num">{}</th><th>{}</th><th>{}</th><th class="num">{}</th><th class="num">{}</th><th>{}</th></tr></thead><tbody>"#,
        i18n::t(lang, Msg::ColOrigin),
        i18n::t(lang, Msg::ColLastSeq),
        i18n::t(lang, Msg::ColLastRecorded),
        i18n::t(lang, Msg::ColLastReceived),
        i18n::t(lang, Msg::ColLag),
        i18n::t(lang, Msg::ColLagEvents),
        t(lang, "Trạng thái", "Status"),
    );
    for (_, r) in &origins {
        st.push_str(r);
    }
    if origins.is_empty() {
        let _ = write!(
            st,
            r#"<tr><td colspan="7" class="empty">{}</td></tr>"#,
            i18n::t(lang, Msg::NoOrigins)
        );
    }
    st.push_str("</tbody></table>");

    let follow = hub
        .follow
        .lock()
        .map(|f| f.clone())
        .unwrap_or_else(|p| p.into_inner().clone());
    let feed = if follow.connected {
        format!(
            r#"<span class="badge ok">{}</span>"#,
            t(
                lang,
                "đang theo dõi nguồn dữ liệu của node",
                "following the node's feed"
            )
        )
    } else {
        format!(
            r#"<span class="badge bad">{}</span> {}"#,
            t(lang, "mất kết nối tới node", "not connected to the node"),
            esc(&follow.last_error)
        )
    };
    let plabel = period_label(lang, period);
    let name = topo.name(unit).unwrap_or_default();
    let mut main = format!(
        r#"<div class="title-row"><div><h1>{}</h1><div class="muted">{} · {}</div></div></div>"#,
        t(
            lang,
            "Đồng bộ và mức đầy đủ dữ liệu",
            "Sync and completeness"
        ),
        esc(name),
        esc(&plabel)
    );
    let _ = write!(
        main,
        r#"<div class="summary"><span class="pill{}">{} {}</span><span class="pill{}">{} {}</span><span class="pill{}">{} {}</span><span class="pill">{} {}</span>{feed}</div>"#,
        if silent > 0 { " bad" } else { "" },
        f::int(lang, silent),
        t(lang, "đơn vị chưa ghi nhận", "units recorded nothing"),
        if quiet > 0 { " warn" } else { "" },
        f::int(lang, quiet),
        t(lang, "đơn vị im lặng", "units quiet"),
        if lagging > 0 { " warn" } else { "" },
        f::int(lang, lagging),
        t(lang, "nguồn trễ", "origins lagging"),
        f::int(lang, sync.skipped),
        i18n::t(lang, Msg::Skipped).to_lowercase(),
    );
    main.push_str(&section(
        "completeness",
        &format!("{} · {}", t(lang, "Mức đầy đủ", "Completeness"), plabel),
        "",
        &format!(r#"<div class="scroll">{ct}</div>"#),
    ));
    main.push_str(&section(
        "sync-status",
        t(lang, "Đồng bộ theo nguồn", "Sync by origin"),
        "",
        &format!(r#"<div class="scroll">{st}</div>"#),
    ));
    main.push_str(&footer(lang, s.checkpoint));
    if ctx.param("fragment") == Some("main") {
        return ctx.finish(html_response(StatusCode::OK, main));
    }
    let ys = years(&app, &s, period.year());
    let here = |p: Period| {
        link(
            "/health",
            &[("unit", &unit.to_string()), ("period", &p.to_string())],
        )
    };
    let shell = Shell {
        title: format!(
            "{} — sync178",
            t(
                lang,
                "Đồng bộ và mức đầy đủ dữ liệu",
                "Sync and completeness"
            )
        ),
        crumbs: format!(
            r#"<a href="{}">{}</a><span class="sep">›</span><span>{}</span>"#,
            esc(&link("/", &[("period", &period.to_string())])),
            esc(topo.name(hub.root).unwrap_or_default()),
            t(lang, "Đồng bộ & đầy đủ", "Sync & completeness")
        ),
        picker: picker(lang, &ys, period, &here),
        main,
        checkpoint: s.checkpoint,
        ctx: &ctx,
    };
    drop(s);
    ctx.finish(html_response(StatusCode::OK, page(&app, shell)))
}

// ----------------------------------------------------------------- other

/// "There is no such page" in `lang`.
pub fn not_found_text(lang: Lang) -> String {
    t(lang, "Không có trang này.", "There is no such page.").to_string()
}

pub(crate) fn bare(lang: Lang, title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html><html lang="{hl}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title><style>{STYLE}</style></head><body class="bare"><main class="narrow">{body}</main></body></html>"#,
        hl = t(lang, "vi", "en"),
        title = esc(title),
    )
}

/// A page with one message (errors).
pub fn message_page(lang: Lang, status: StatusCode, text: &str) -> Response {
    let body = format!(
        r#"<div class="box"><h1>{} {}</h1><p>{}</p><p><a href="/">{}</a></p></div>"#,
        status.as_u16(),
        esc(status.canonical_reason().unwrap_or_default()),
        esc(&api::clip(text, api::MAX_MESSAGE)),
        t(lang, "Về trang tổng quan", "Back to the overview")
    );
    html_response(status, bare(lang, "sync178", &body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_in_events_is_a_dash_until_the_node_was_asked() {
        use sync178_shared::proto::v1::{OriginLag, SyncStatusResponse};
        let o = OriginLag {
            lag_events: 1234,
            ..OriginLag::default()
        };
        let mut sync = SyncStatusResponse::default();
        assert_eq!(behind(Lang::En, &sync, &o), "—");
        sync.heads_at = 1;
        assert_eq!(behind(Lang::En, &sync, &o), "1,234");
        assert_eq!(behind(Lang::Vi, &sync, &o), "1.234");
    }

    #[test]
    fn sort_keys_round_trip() {
        for s in ["name", "m.inspections", "k.inspection_coverage"] {
            assert_eq!(SortKey::parse(Some(s)).param(), s);
        }
        assert_eq!(SortKey::parse(Some("k.nope")), SortKey::None);
        assert_eq!(SortKey::parse(None), SortKey::None);
    }

    #[test]
    fn months_of_periods() {
        assert_eq!(months_of(Period::Year { year: 2024 }).len(), 12);
        assert_eq!(
            months_of(Period::Half {
                year: 2024,
                half: 2
            })[0],
            Period::Month {
                year: 2024,
                month: 7
            }
        );
        assert_eq!(
            months_of(Period::Quarter {
                year: 2024,
                quarter: 1
            })
            .len(),
            3
        );
        assert_eq!(
            months_of(Period::Month {
                year: 2024,
                month: 5
            })
            .len(),
            1
        );
    }

    #[test]
    fn picker_links_every_kind_of_period() {
        let html = picker(
            Lang::Vi,
            &[2023, 2024],
            Period::Quarter {
                year: 2024,
                quarter: 2,
            },
            &|p| link("/", &[("period", &p.to_string())]),
        );
        for p in [
            "2024", "2024-H1", "2024-H2", "2024-Q1", "2024-Q4", "2024-01", "2024-12", "2023-Q2",
        ] {
            assert!(
                html.contains(&format!("/?period={p}\"")),
                "{p} missing in {html}"
            );
        }
        assert!(html.contains(r#"href="/?period=2024-Q2" class="on""#));
    }
}
