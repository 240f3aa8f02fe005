//! Signing in and out of the web page (`/login`, `/logout`), and the rules
//! every state-changing request follows: it comes from the page's own origin
//! ([`cross_site`]), and after signing in the browser goes to a local path
//! only ([`safe_next`]). How often a token may be tried is [`super::guard`]'s.
//!
//! The sign-in form asks for the operator's name (the name of its line in the
//! tokens file) and token: failures count against both the client address
//! and the account, and a token is accepted only for its own name.

use std::collections::HashMap;
use std::time::Instant;

use axum::Form;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use sync178_shared::i18n::Lang;

use super::auth::{MAX_TOKEN, SESSION_COOKIE, SESSION_TTL};
use super::guard::{Key, Verdict};
use super::html::esc;
use super::pages::{bare, html_response, t};
use super::{App, Ctx};

/// Longest `next` kept; a longer one goes to `/`.
pub const MAX_NEXT: usize = 2048;

/// Only local paths, so `next` cannot send the browser elsewhere: a path
/// starting with one `/`, without backslashes, control characters or
/// whitespace (browsers drop TAB, CR and LF, so `/<TAB>/evil` is `//evil`),
/// and not the sign-in page itself. Anything else is `/`.
pub fn safe_next(next: &str) -> &str {
    let local = next.len() <= MAX_NEXT
        && next.starts_with('/')
        && !next.starts_with("//")
        && !next
            .chars()
            .any(|c| c == '\\' || c.is_control() || c.is_whitespace())
        && !next.starts_with("/login");
    if local { next } else { "/" }
}

/// Why a state-changing request comes from another site, if it does: its
/// `Origin` (else its `Referer`) must be this page's own scheme and host.
/// A request with neither (not sent by a browser) passes; `Origin: null`
/// does not.
pub fn cross_site(headers: &HeaderMap, authority: Option<&str>, https: bool) -> Option<String> {
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or(authority)
        .map(str::to_ascii_lowercase);
    let ours = host.map(|h| format!("{}://{h}", if https { "https" } else { "http" }));
    let shown = |v: &str| v.chars().take(100).collect::<String>();
    if let Some(o) = headers.get(header::ORIGIN) {
        let o = o.to_str().unwrap_or_default();
        return match &ours {
            Some(ours) if o.eq_ignore_ascii_case(ours) => None,
            _ => Some(format!("Origin {}", shown(o))),
        };
    }
    if let Some(r) = headers.get(header::REFERER) {
        let r = r.to_str().unwrap_or_default();
        let same = ours.as_ref().is_some_and(|ours| {
            r.to_ascii_lowercase()
                .strip_prefix(ours.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        });
        return (!same).then(|| format!("Referer {}", shown(r)));
    }
    None
}

/// The sign-in page (status 401 when a page was refused, 429 when held back).
pub fn login_page(
    app: &App,
    lang: Lang,
    next: &str,
    why: Option<&str>,
    status: StatusCode,
) -> Response {
    let form = if app.tokens.is_some() {
        format!(
            r#"<form method="post" action="/login" class="login"><label for="operator">{}</label><input id="operator" name="operator" type="text" autocomplete="username" required maxlength="64" autofocus><label for="token">{}</label><input id="token" name="token" type="password" autocomplete="current-password" required maxlength="{MAX_TOKEN}"><input type="hidden" name="next" value="{}"><button type="submit">{}</button></form>"#,
            t(lang, "Tên cán bộ", "Operator name"),
            t(lang, "Mã truy cập của cán bộ", "Operator token"),
            esc(safe_next(next)),
            t(lang, "Đăng nhập", "Sign in"),
        )
    } else {
        format!(
            "<p>{}</p>",
            t(
                lang,
                "Trang này chỉ mở được trên máy chạy hub, hoặc bằng chứng thư số của cán bộ (vai trò operator).",
                "This page opens only on the hub's own machine, or with an operator's client certificate."
            )
        )
    };
    let body = format!(
        r#"<div class="box"><div class="brand-line"><span class="mark">178</span>{}</div><h1>{}</h1>{}{form}</div>"#,
        esc(app.hub.topology().name(app.hub.root).unwrap_or_default()),
        t(lang, "Đăng nhập", "Sign in"),
        why.map(|w| format!(r#"<p class="err">{}</p>"#, esc(w)))
            .unwrap_or_default(),
    );
    html_response(
        status,
        bare(
            lang,
            t(lang, "Đăng nhập — sync178", "Sign in — sync178"),
            &body,
        ),
    )
}

/// `GET /login`.
pub async fn login_form(State(app): State<App>, ctx: Ctx) -> Response {
    let next = ctx.param("next").unwrap_or("/").to_string();
    ctx.finish(login_page(&app, ctx.lang, &next, None, StatusCode::OK))
}

fn redirect(to: &str) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// What a held-back attempt reads, in `lang`.
pub fn held_back_text(lang: Lang, v: Verdict) -> String {
    match v {
        Verdict::Locked => t(
            lang,
            "Đăng nhập đã bị khóa sau quá nhiều lần thử sai. Người quản trị hub mở khóa bằng lệnh `sync178-hub web unlock`.",
            "Sign-in is locked after too many wrong tries. The hub's operator lifts it with `sync178-hub web unlock`.",
        )
        .to_string(),
        _ => {
            let secs = v.retry_after_secs();
            match lang {
                Lang::Vi => format!("Thử sai quá nhiều lần. Hãy thử lại sau {secs} giây."),
                Lang::En => format!("Too many wrong tries. Try again in {secs} s."),
            }
        }
    }
}

/// `429 Too Many Requests` with `Retry-After` on `r`.
pub fn too_many(mut r: Response, v: Verdict) -> Response {
    *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(v.retry_after_secs()));
    r
}

/// `POST /login` (form `operator`, `token`, `next`): unless the address or
/// the account is held back, checks that the token is the operator's, starts
/// a session in an HttpOnly cookie, and goes to `next`.
pub async fn login(
    State(app): State<App>,
    ctx: Ctx,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let lang = ctx.lang;
    let form = form.map(|f| f.0).unwrap_or_default();
    let next = safe_next(form.get("next").map_or("/", String::as_str)).to_string();
    let name = form.get("operator").map_or("", |s| s.trim());
    let token = form.get("token").map_or("", |s| s.trim());
    let Some(tokens) = app.tokens.as_ref() else {
        let why = t(
            lang,
            "Chưa cấu hình mã truy cập.",
            "Tokens are not configured.",
        );
        return login_page(&app, lang, &next, Some(why), StatusCode::UNAUTHORIZED);
    };
    app.guard.poll_unlock_file();
    let mut keys = vec![Key::addr(ctx.peer)];
    if tokens.has(name) {
        keys.push(Key::Account(name.to_string()));
    }
    let now = Instant::now();
    let verdict = app.guard.check(&keys, now);
    if verdict != Verdict::Go {
        tracing::warn!(operator = name, peer = ?ctx.peer, "web sign-in held back");
        let why = held_back_text(lang, verdict);
        let page = login_page(&app, lang, &next, Some(&why), StatusCode::TOO_MANY_REQUESTS);
        return too_many(page, verdict);
    }
    let owner = tokens.verify(token);
    if owner.is_none() || owner != Some(name) {
        app.guard.failed(&keys, now);
        tracing::info!(operator = name, peer = ?ctx.peer, "web sign-in refused: wrong name or token");
        let why = t(
            lang,
            "Tên cán bộ hoặc mã truy cập không đúng.",
            "Wrong operator name or token.",
        );
        return login_page(&app, lang, &next, Some(why), StatusCode::UNAUTHORIZED);
    }
    app.guard.succeeded(&keys);
    let id = app.sessions.start(name);
    tracing::info!(operator = name, "operator signed in to the web page");
    let mut r = redirect(&next);
    let secure = if app.https { "; Secure" } else { "" };
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
        SESSION_TTL.as_secs()
    );
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

/// `POST /logout`: ends the session.
pub async fn logout(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(id) = super::cookie(&headers, SESSION_COOKIE) {
        app.sessions.end(id);
    }
    let mut r = redirect("/login");
    r.headers_mut().append(
        header::SET_COOKIE,
        HeaderValue::from_static("sync178_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(
            safe_next("/unit/d008?period=2024"),
            "/unit/d008?period=2024"
        );
        for bad in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil",
            "/login?next=/",
            "/\t/evil.example",
            "/\r\n/evil.example",
            "javascript:alert(1)",
            "",
        ] {
            assert_eq!(safe_next(bad), "/", "{bad:?}");
        }
        assert_eq!(safe_next(&format!("/{}", "a".repeat(MAX_NEXT))), "/");
    }

    #[test]
    fn only_our_own_origin_may_post() {
        let h = |pairs: &[(header::HeaderName, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.insert(k.clone(), HeaderValue::from_str(v).expect("value"));
            }
            m
        };
        let host = (header::HOST, "hub.example:7380");
        assert_eq!(
            cross_site(&h(std::slice::from_ref(&host)), None, false),
            None
        );
        assert_eq!(
            cross_site(
                &h(&[host.clone(), (header::ORIGIN, "http://hub.example:7380")]),
                None,
                false
            ),
            None
        );
        for (name, value) in [
            (header::ORIGIN, "https://evil.example"),
            (header::ORIGIN, "null"),
            (header::ORIGIN, "https://hub.example:7380"),
            (header::REFERER, "http://hub.example:7380.evil.example/"),
            (header::REFERER, "http://evil.example/login"),
        ] {
            assert!(
                cross_site(&h(&[host.clone(), (name.clone(), value)]), None, false).is_some(),
                "{name}: {value}"
            );
        }
        assert_eq!(
            cross_site(
                &h(&[host, (header::REFERER, "http://hub.example:7380/login")]),
                None,
                false
            ),
            None
        );
        // HTTP/2 carries the host in the request's authority.
        assert_eq!(
            cross_site(
                &h(&[(header::ORIGIN, "https://hub.example")]),
                Some("hub.example"),
                true
            ),
            None
        );
    }
}
