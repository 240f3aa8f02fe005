//! The officers' data-entry page (`[entry]`): a form for each kind of the
//! catalogue (`sync178_shared::forms`), server-rendered, Vietnamese by
//! default (`?lang=en`), no script and nothing from the internet. A filled
//! form becomes a draft event and goes through [`crate::ingest::record`], the
//! path of `Ingest.Submit`: the same rules, the same log. A refused form comes
//! back with each reason beside its input and nothing stored.
//!
//! The page serves this PC only (a loopback address, checked at start): it
//! answers only requests addressed to a loopback host name (no DNS
//! rebinding), and stores only posts from its own pages (the `Origin` and
//! `Sec-Fetch-Site` headers, and a token each page carries), so another
//! site open in the officer's browser cannot record through it.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use sync178_shared::event::{self, new_id};
use sync178_shared::forms;
use sync178_shared::i18n::{Lang, Localized};
use sync178_shared::proto::v1::Event;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::Ctx;
use crate::client_ref::ClientSecret;

mod page;

/// Most recent own events the start page lists.
const RECENT: u64 = 20;

/// What every handler shares.
#[derive(Clone)]
struct Entry {
    ctx: Arc<Ctx>,
    /// Turns a client's case number into its `client_ref`.
    secret: Arc<ClientSecret>,
    /// Carried by every form of this process; a post without it is refused.
    token: Arc<str>,
}

/// Serves the page on `listener` until `shutdown`.
pub(crate) async fn serve(
    ctx: Arc<Ctx>,
    listener: TcpListener,
    secret: ClientSecret,
    shutdown: CancellationToken,
) {
    let addr = listener.local_addr().ok();
    tracing::info!(unit = %ctx.unit, ?addr, "data-entry page serving");
    let token: String = hex::encode(rand::random::<[u8; 16]>());
    let app = router(Entry {
        ctx,
        secret: Arc::new(secret),
        token: token.into(),
    });
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::error!(error = %e, "data-entry page stopped");
    }
}

fn router(entry: Entry) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/new/{kind}", get(new_form).post(post_form))
        .with_state(entry)
}

/// The language of a request: `lang=en` in its query or form, else Vietnamese.
fn lang_of(v: Option<&String>) -> Lang {
    v.and_then(|l| l.parse().ok()).unwrap_or_default()
}

/// Whether the request is addressed to this PC by a loopback name: a page
/// reached through another name (a rebinding DNS entry) answers nothing.
fn loopback_host(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let name = match host.rsplit_once(':') {
        Some((n, port)) if port.bytes().all(|b| b.is_ascii_digit()) => n,
        _ => host,
    };
    matches!(name, "127.0.0.1" | "localhost" | "[::1]")
}

/// Whether a post comes from this page: same-origin by the browser's word
/// (`Sec-Fetch-Site`, `Origin`) and carrying this process's token.
fn own_post(headers: &HeaderMap, typed: &[(String, String)], token: &str) -> bool {
    let site_ok = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| matches!(v, "same-origin" | "none"));
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
    let origin_ok = match (headers.get(header::ORIGIN), host) {
        (None, _) => true,
        (Some(o), Some(host)) => o.to_str().ok() == Some(&format!("http://{host}")),
        (Some(_), None) => false,
    };
    let token_ok = typed.iter().any(|(k, v)| k == "token" && v == token);
    site_ok && origin_ok && token_ok
}

fn refused(status: StatusCode, lang: Lang, vi: &str, en: &str) -> Response {
    (status, Html(page::message(lang, lang.pick(vi, en)))).into_response()
}

fn misdirected(lang: Lang) -> Response {
    refused(
        StatusCode::MISDIRECTED_REQUEST,
        lang,
        "Trang nhập liệu chỉ mở trên chính máy này: http://127.0.0.1",
        "The data-entry page opens on this PC only: http://127.0.0.1",
    )
}

async fn index(
    State(entry): State<Entry>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(q.get("lang"));
    if !loopback_host(&headers) {
        return misdirected(lang);
    }
    let saved = q.get("saved").and_then(|s| s.parse::<u64>().ok());
    let ctx = entry.ctx.clone();
    let recent = tokio::task::spawn_blocking(move || recent(&ctx))
        .await
        .unwrap_or_default();
    let acked = entry
        .ctx
        .state
        .uplink(|u| u.acked.get(&entry.ctx.unit).map_or(0, |(seq, _)| *seq));
    Html(page::index(
        &page::Unit::of(&entry.ctx),
        lang,
        saved,
        &recent,
        acked,
    ))
    .into_response()
}

/// The last [`RECENT`] own events, newest first, with their seq.
fn recent(ctx: &Ctx) -> Vec<(u64, Event)> {
    let Some(head) = ctx.log.head(ctx.unit) else {
        return Vec::new();
    };
    let first = head.seq.saturating_sub(RECENT - 1).max(1);
    (first..=head.seq)
        .rev()
        .filter_map(|seq| {
            let (_, bytes) = ctx.log.get_by_origin_seq(ctx.unit, seq).ok()??;
            Some((seq, event::decode(&bytes).ok()?))
        })
        .collect()
}

async fn new_form(
    State(entry): State<Entry>,
    Path(kind): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let lang = lang_of(q.get("lang"));
    if !loopback_host(&headers) {
        return misdirected(lang);
    }
    let Some(form) = forms::form(&kind) else {
        return not_found(lang);
    };
    let unit = page::Unit::of(&entry.ctx);
    let today = sync178_shared::period::format_date_vi(crate::today());
    let typed = vec![
        ("occurred_on".to_owned(), today),
        ("unit".to_owned(), entry.ctx.unit.to_string()),
        ("id".to_owned(), draft_id()),
    ];
    let filled = page::Filled {
        typed: &typed,
        errors: &[],
        token: &entry.token,
    };
    Html(page::form(&unit, form, lang, &filled)).into_response()
}

fn not_found(lang: Lang) -> Response {
    refused(
        StatusCode::NOT_FOUND,
        lang,
        "Không có mẫu nhập này.",
        "There is no such form.",
    )
}

/// A new event id for a form, base64 as the canonical JSON writes bytes: the
/// same form sent twice (a double click, a reload) is stored once.
fn draft_id() -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(new_id())
}

async fn post_form(
    State(entry): State<Entry>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    Form(typed): Form<Vec<(String, String)>>,
) -> Response {
    let lang = lang_of(typed.iter().find(|(k, _)| k == "lang").map(|(_, v)| v));
    if !loopback_host(&headers) {
        return misdirected(lang);
    }
    if !own_post(&headers, &typed, &entry.token) {
        tracing::warn!("data-entry post refused: not from this page");
        return refused(
            StatusCode::FORBIDDEN,
            lang,
            "Từ chối: biểu mẫu không gửi từ trang nhập liệu này (hoặc trang đã cũ — mở lại trang rồi nhập lại).",
            "Refused: the form was not sent from this data-entry page (or the page is old — open it again and re-enter).",
        );
    }
    let Some(form) = forms::form(&kind) else {
        return not_found(lang);
    };
    let unit = page::Unit::of(&entry.ctx);
    let (prepared, refs) = case_numbers_to_refs(form, &typed, &entry.secret, lang);
    if !refs.is_empty() {
        let filled = page::Filled {
            typed: &typed,
            errors: &refs,
            token: &entry.token,
        };
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Html(page::form(&unit, form, lang, &filled)),
        )
            .into_response();
    }
    let key_id = entry.secret.key_id();
    let errors: Vec<page::FieldError> =
        match forms::fill(form.kind, &prepared).map(|draft| with_key_id(draft, &key_id)) {
            Err(errors) => errors
                .into_iter()
                .map(|e| page::FieldError {
                    field: e.field,
                    reason: e.reason.text(lang),
                })
                .collect(),
            Ok(draft) => match crate::ingest::record(&entry.ctx, vec![draft]).await {
                Ok(resp) if resp.rejected.is_empty() => {
                    let seq = resp.accepted.first().map_or(0, |a| a.seq);
                    return Redirect::to(&format!("/?lang={}&saved={seq}", lang.code()))
                        .into_response();
                }
                Ok(resp) => resp
                    .rejected
                    .into_iter()
                    .map(|r| page::FieldError {
                        field: input_of(form.kind, &r.field),
                        reason: if lang == Lang::Vi && !r.reason_vi.is_empty() {
                            r.reason_vi
                        } else {
                            r.reason
                        },
                    })
                    .collect(),
                Err(status) => vec![page::FieldError {
                    field: String::new(),
                    reason: match lang {
                        Lang::Vi => format!("Nút chưa lưu được: {}", status.message()),
                        Lang::En => format!("The node could not store it: {}", status.message()),
                    },
                }],
            },
        };
    let filled = page::Filled {
        typed: &typed,
        errors: &errors,
        token: &entry.token,
    };
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        Html(page::form(&unit, form, lang, &filled)),
    )
        .into_response()
}

/// The typed values with every case number replaced by its `client_ref`
/// (the number itself goes no further), and the case numbers that cannot
/// be used. An empty one is left for validation to name.
fn case_numbers_to_refs(
    form: &forms::Form,
    typed: &[(String, String)],
    secret: &ClientSecret,
    lang: Lang,
) -> (Vec<(String, String)>, Vec<page::FieldError>) {
    let mut errors = Vec::new();
    let prepared = typed
        .iter()
        .map(|(k, v)| {
            let is_case = form
                .field(k)
                .is_some_and(|f| matches!(f.input, forms::Input::CaseNumber));
            if !is_case || v.trim().is_empty() {
                return (k.clone(), v.clone());
            }
            match secret.reference(v) {
                Ok(r) => (k.clone(), r),
                Err(e) => {
                    errors.push(page::FieldError {
                        field: k.clone(),
                        reason: e.text(lang),
                    });
                    (k.clone(), String::new())
                }
            }
        })
        .collect();
    (prepared, errors)
}

/// A client event names the secret its reference was made with.
fn with_key_id(mut ev: Event, key_id: &str) -> Event {
    use sync178_shared::proto::v1::body::Kind;
    match ev.body.as_mut().and_then(|b| b.kind.as_mut()) {
        Some(Kind::ClientNeedAssessed(b)) => b.client_key_id = key_id.to_owned(),
        Some(Kind::SupportServiceProvided(b)) => b.client_key_id = key_id.to_owned(),
        _ => {}
    }
    ev
}

/// The input a validation field path names: `body.<kind>.members_present`
/// → `members_present`, `body.<kind>.agencies[1]` → `agencies`; envelope
/// fields as they are; anything else (the body as a whole) → empty, shown
/// above the form.
fn input_of(kind: &str, path: &str) -> String {
    let prefix = format!("body.{kind}.");
    let name = match path.strip_prefix(&prefix) {
        Some(rest) => rest,
        None if forms::ENVELOPE.contains(&path) || path == "id" => path,
        None => return String::new(),
    };
    name.split('[').next().unwrap_or(name).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().expect("header value"));
        }
        h
    }

    #[test]
    fn only_loopback_names_are_served() {
        assert!(loopback_host(&headers(&[("host", "127.0.0.1:7180")])));
        assert!(loopback_host(&headers(&[("host", "localhost:7180")])));
        assert!(loopback_host(&headers(&[("host", "[::1]:7180")])));
        assert!(!loopback_host(&headers(&[("host", "evil.example:7180")])));
        assert!(!loopback_host(&headers(&[(
            "host",
            "127.0.0.1.evil.example"
        )])));
        assert!(!loopback_host(&HeaderMap::new()));
    }

    #[test]
    fn posts_from_other_sites_or_without_the_token_are_not_own() {
        let typed = vec![("token".to_owned(), "t".to_owned())];
        let host = ("host", "127.0.0.1:7180");
        assert!(own_post(&headers(&[host]), &typed, "t"));
        assert!(own_post(
            &headers(&[
                host,
                ("origin", "http://127.0.0.1:7180"),
                ("sec-fetch-site", "same-origin")
            ]),
            &typed,
            "t"
        ));
        assert!(!own_post(&headers(&[host]), &typed, "other"));
        assert!(!own_post(&headers(&[host]), &[], "t"));
        assert!(!own_post(
            &headers(&[host, ("origin", "https://evil.example")]),
            &typed,
            "t"
        ));
        assert!(!own_post(
            &headers(&[host, ("sec-fetch-site", "cross-site")]),
            &typed,
            "t"
        ));
    }

    #[test]
    fn validation_paths_name_their_inputs() {
        let k = "inspection_conducted";
        assert_eq!(
            input_of(k, "body.inspection_conducted.members_present"),
            "members_present"
        );
        assert_eq!(
            input_of(k, "body.inspection_conducted.agencies[2]"),
            "agencies"
        );
        assert_eq!(
            input_of(k, "body.inspection_conducted.checks.under18"),
            "checks.under18"
        );
        assert_eq!(input_of(k, "occurred_on"), "occurred_on");
        assert_eq!(input_of(k, "body"), "");
        assert_eq!(input_of(k, "body.inspection_conducted"), "");
    }
}
