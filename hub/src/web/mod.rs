//! The operator web page: server-rendered HTML over the hub's projections
//! (province overview, districts, communes, completeness and sync health),
//! charts drawn as SVG on the server, a JSON API under `/api/…` built on the
//! same [`crate::query`] functions as the gRPC service, CSV exports, and a
//! server-sent-events stream (`/events`) fed by [`Hub::changed`] that keeps
//! an open page up to date without reloading it.
//!
//! Vietnamese by default, English with `?lang=en` (remembered in a cookie).
//! No external resource: styles and the few lines of script are embedded.
//! Access rules are in [`auth`]: loopback needs nothing; off loopback every
//! request authenticates, and the hub refuses to listen off loopback unless
//! HTTPS (client certificates with role `operator`) or a tokens file is set.
//!
//! [`serve`] runs the page on a listener the caller bound; the hub's
//! [`crate::run_with`] calls it on its own runtime when `[web]` is configured.

pub mod api;
pub mod auth;
pub mod fmt;
pub mod guard;
pub use sync178_shared::html;
pub mod login;
pub mod pages;
pub mod svg;

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures::{Stream, StreamExt};
use sync178_shared::i18n::Lang;
use sync178_shared::tls::{LoadedTls, identity_of_cert_der};
use tokio::net::TcpListener;
use tokio_stream::wrappers::{TcpListenerStream, WatchStream};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};

use crate::Hub;
use crate::config::WebConfig;
use auth::{Access, Presented, Sessions, Tokens, TokensError};
use guard::{Guard, Key, Verdict};

/// Why the web page could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum WebError {
    /// Listening off loopback with no way for operators to authenticate.
    #[error(
        "web.listen {addr} is not a loopback address: set web.tls = true (client certificates with role operator) or web.tokens_file, or listen on 127.0.0.1"
    )]
    Exposed {
        /// Where the page would listen.
        addr: SocketAddr,
    },
    /// `web.tls` is set but no certificate was handed over.
    #[error("web.tls is set but the hub's certificate was not given to the web page")]
    NoTls,
    /// The tokens file cannot be used.
    #[error("web.tokens_file: {0}")]
    Tokens(#[from] TokensError),
    /// The page's address cannot be bound (in use, not ours).
    #[error("web.listen {addr}: cannot listen: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Binding or accepting failed.
    #[error("web page: {0}")]
    Io(#[from] std::io::Error),
    /// The HTTPS server failed.
    #[error("web page (https): {0}")]
    Tls(#[from] tonic::transport::Error),
}

/// What every handler shares.
#[derive(Clone)]
pub struct App {
    /// The hub whose state the page shows.
    pub hub: Arc<Hub>,
    tokens: Option<Arc<Tokens>>,
    sessions: Arc<Sessions>,
    guard: Arc<Guard>,
    https: bool,
    shutdown: CancellationToken,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("root", &self.hub.root)
            .field("tokens", &self.tokens)
            .field("https", &self.https)
            .finish_non_exhaustive()
    }
}

/// The page's routes over `hub`, with access control, for [`serve`] (and for
/// tests, which may set the peer address with axum's `ConnectInfo`). `https`
/// marks cookies `Secure`. Reads the tokens file.
pub fn router(
    hub: Arc<Hub>,
    web: &WebConfig,
    https: bool,
    shutdown: CancellationToken,
) -> Result<Router, WebError> {
    let hub_dir = hub.data_dir.clone();
    let tokens = web
        .tokens_file
        .as_deref()
        .map(Tokens::load)
        .transpose()?
        .map(Arc::new);
    let app = App {
        hub,
        tokens,
        sessions: Arc::new(Sessions::default()),
        guard: Arc::new(Guard::new(&hub_dir)),
        https,
        shutdown,
    };
    Ok(Router::new()
        .route("/", get(pages::overview))
        .route("/unit/{id}", get(pages::unit))
        .route("/health", get(pages::health))
        .route("/login", get(login::login_form).post(login::login))
        .route("/logout", post(login::logout))
        .route("/events", get(events))
        .route("/static/app.js", get(script))
        .route("/api/kpis", get(api::kpis))
        .route("/api/rollup", get(api::rollup))
        .route("/api/breakdown", get(api::breakdown))
        .route("/api/completeness", get(api::completeness))
        .route("/api/sync-status", get(api::sync_status))
        .route("/api/units", get(api::units))
        .route("/export/kpis.csv", get(api::kpis_csv))
        .route("/export/breakdown.csv", get(api::breakdown_csv))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), access))
        .layer(middleware::from_fn(headers))
        .with_state(app))
}

/// A web page ready to run: checked and bound.
#[derive(Debug)]
pub struct WebServer {
    router: Router,
    listener: TcpListener,
    tls: Option<LoadedTls>,
    shutdown: CancellationToken,
}

impl WebServer {
    /// Checks the configuration against where `listener` is bound: refuses a
    /// non-loopback address unless HTTPS or a tokens file is configured.
    pub fn new(
        hub: Arc<Hub>,
        listener: TcpListener,
        web: &WebConfig,
        tls: Option<LoadedTls>,
        shutdown: CancellationToken,
    ) -> Result<WebServer, WebError> {
        let addr = listener.local_addr()?;
        if web.tls && tls.is_none() {
            return Err(WebError::NoTls);
        }
        if !auth::is_loopback(&addr) && !web.tls && web.tokens_file.is_none() {
            return Err(WebError::Exposed { addr });
        }
        let router = router(hub, web, web.tls, shutdown.clone())?;
        Ok(WebServer {
            router,
            listener,
            tls: if web.tls { tls } else { None },
            shutdown,
        })
    }

    /// Where the page listens.
    pub fn local_addr(&self) -> Result<SocketAddr, WebError> {
        Ok(self.listener.local_addr()?)
    }

    /// Serves until the shutdown token is cancelled; open event streams end then too.
    pub async fn run(self) -> Result<(), WebError> {
        let addr = self.listener.local_addr().ok();
        let stop = self.shutdown.clone().cancelled_owned();
        match self.tls {
            None => {
                tracing::info!(?addr, "web page serving (http)");
                axum::serve(
                    self.listener,
                    self.router
                        .into_make_service_with_connect_info::<SocketAddr>(),
                )
                .with_graceful_shutdown(stop)
                .await?;
            }
            Some(tls) => {
                tracing::info!(?addr, "web page serving (https)");
                // tonic's TLS acceptor (the hub's certificate, the province CA
                // for client certificates, optional here: tokens work too).
                tonic::transport::Server::builder()
                    .tls_config(tls.server_config().client_auth_optional(true))?
                    .accept_http1(true)
                    .add_routes(tonic::service::Routes::from(self.router))
                    .serve_with_incoming_shutdown(TcpListenerStream::new(self.listener), stop)
                    .await?;
            }
        }
        tracing::info!("web page stopped");
        Ok(())
    }
}

/// Runs the web page for `hub` on `listener` until `shutdown`. `tls` is the
/// hub's own certificate, used when `web.tls` is set.
pub async fn serve(
    hub: Arc<Hub>,
    listener: TcpListener,
    web: WebConfig,
    tls: Option<LoadedTls>,
    shutdown: CancellationToken,
) -> Result<(), WebError> {
    WebServer::new(hub, listener, &web, tls, shutdown)?
        .run()
        .await
}

// ------------------------------------------------------------------ access

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn presented(req: &Request) -> Presented {
    let ext = req.extensions();
    let mut peer = ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let mut cert = None;
    if let Some(tls) = ext.get::<TlsConnectInfo<TcpConnectInfo>>() {
        peer = peer.or(tls.get_ref().remote_addr());
        cert = tls
            .peer_certs()
            .and_then(|c| c.first().and_then(|der| identity_of_cert_der(der).ok()));
    }
    if let Some(tcp) = ext.get::<TcpConnectInfo>() {
        peer = peer.or(tcp.remote_addr());
    }
    let bearer = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_string())
        });
    let session = cookie(req.headers(), auth::SESSION_COOKIE).map(str::to_string);
    Presented {
        peer,
        cert,
        bearer,
        session,
    }
}

/// Whether `path` is answered with JSON (and so refused with JSON).
fn is_machine(path: &str) -> bool {
    path.starts_with("/api/") || path.starts_with("/export/") || path == "/events"
}

/// The client address a request came from, for handlers (see [`Ctx::peer`]).
#[derive(Debug, Clone, Copy)]
struct Peer(Option<SocketAddr>);

async fn access(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let lang = lang_of(req.headers(), &HashMap::new());
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS)
        && let Some(from) = login::cross_site(
            req.headers(),
            req.uri().authority().map(|a| a.as_str()),
            app.https,
        )
    {
        tracing::warn!(%path, from, "cross-site request refused");
        let why = format!(
            "{} ({from})",
            lang.pick(
                "Yêu cầu thay đổi phải đến từ chính trang này",
                "A request that changes something must come from this page itself"
            )
        );
        return if is_machine(&path) {
            api::error(StatusCode::FORBIDDEN, &why)
        } else {
            pages::message_page(lang, StatusCode::FORBIDDEN, &why)
        };
    }
    let presented = presented(&req);
    req.extensions_mut().insert(Peer(presented.peer));
    // A bearer token is a sign-in too: held back like the form.
    let addr = [Key::addr(presented.peer)];
    let bearer = presented.bearer.is_some() && presented.cert.is_none();
    if bearer {
        let verdict = app.guard.check(&addr, Instant::now());
        if verdict != Verdict::Go {
            let why = login::held_back_text(lang, verdict);
            let r = if is_machine(&path) {
                api::error(StatusCode::TOO_MANY_REQUESTS, &why)
            } else {
                pages::message_page(lang, StatusCode::TOO_MANY_REQUESTS, &why)
            };
            return login::too_many(r, verdict);
        }
    }
    let decided = auth::decide(&presented, app.tokens.as_deref(), &app.sessions);
    if bearer {
        match decided {
            Access::Denied(_) => app.guard.failed(&addr, Instant::now()),
            _ => app.guard.succeeded(&addr),
        }
    }
    if path == "/login" {
        req.extensions_mut().insert(decided);
        return next.run(req).await;
    }
    match decided {
        Access::Denied(why) => {
            let mut r = if is_machine(&path) {
                api::error(StatusCode::UNAUTHORIZED, why)
            } else {
                let next_url = req
                    .uri()
                    .path_and_query()
                    .map_or("/", |p| p.as_str())
                    .to_string();
                login::login_page(&app, lang, &next_url, Some(why), StatusCode::UNAUTHORIZED)
            };
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"sync178\""),
            );
            r
        }
        ok => {
            req.extensions_mut().insert(ok);
            next.run(req).await
        }
    }
}

/// The page's own content only: its styles, its script, its API.
const CSP: &str = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async fn headers(req: Request, next: Next) -> Response {
    let mut r = next.run(req).await;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        // Same-origin only: other sites learn nothing, and our own form
        // posts carry our Origin (with `no-referrer` browsers send `Origin: null`).
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    r
}

async fn not_found(req: Request) -> Response {
    if is_machine(req.uri().path()) {
        return api::error(StatusCode::NOT_FOUND, "no such endpoint");
    }
    let lang = lang_of(req.headers(), &HashMap::new());
    pages::message_page(lang, StatusCode::NOT_FOUND, &pages::not_found_text(lang))
}

// ----------------------------------------------------------------- context

/// The language cookie's name.
pub const LANG_COOKIE: &str = "lang";

fn parse_lang(s: &str) -> Option<Lang> {
    match s {
        "vi" => Some(Lang::Vi),
        "en" => Some(Lang::En),
        _ => None,
    }
}

/// `?lang=`, else the `lang` cookie, else Vietnamese.
pub fn lang_of(headers: &HeaderMap, params: &HashMap<String, String>) -> Lang {
    params
        .get("lang")
        .and_then(|l| parse_lang(l))
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(parse_lang))
        .unwrap_or_default()
}

/// What a handler knows about its request: language, query parameters, who asks.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The language to answer in.
    pub lang: Lang,
    /// The query string's parameters (the last of a repeated name wins).
    pub params: HashMap<String, String>,
    /// `?lang=` was given: remember it in the cookie.
    pub set_lang: bool,
    /// The request's path.
    pub path: String,
    /// Who asks.
    pub access: Access,
    /// The client address, when known.
    pub peer: Option<SocketAddr>,
}

impl Ctx {
    /// A query parameter, trimmed; None when absent or empty.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params
            .get(name)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// Adds the language cookie to `r` when `?lang=` asked for it.
    pub fn finish(&self, mut r: Response) -> Response {
        if self.set_lang {
            let v = format!(
                "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Lax",
                match self.lang {
                    Lang::Vi => "vi",
                    Lang::En => "en",
                }
            );
            if let Ok(v) = HeaderValue::from_str(&v) {
                r.headers_mut().append(header::SET_COOKIE, v);
            }
        }
        r
    }
}

/// A malformed query string.
#[derive(Debug)]
pub struct BadQuery(String);

impl IntoResponse for BadQuery {
    fn into_response(self) -> Response {
        api::error(
            StatusCode::BAD_REQUEST,
            &format!("query string: {}", self.0),
        )
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = BadQuery;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Ctx, BadQuery> {
        let pairs: Vec<(String, String)> = match parts.uri.query() {
            None => Vec::new(),
            Some(q) => axum::extract::Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
                .map(|q| q.0)
                .map_err(|e| BadQuery(format!("{}: {e}", api::clip(q, api::MAX_ECHO))))?,
        };
        let params: HashMap<String, String> = pairs.into_iter().collect();
        let set_lang = params.get("lang").and_then(|l| parse_lang(l)).is_some();
        Ok(Ctx {
            lang: lang_of(&parts.headers, &params),
            set_lang,
            path: parts.uri.path().to_string(),
            access: parts
                .extensions
                .get::<Access>()
                .cloned()
                .unwrap_or(Access::Local),
            peer: parts.extensions.get::<Peer>().and_then(|p| p.0),
            params,
        })
    }
}

// ------------------------------------------------------------------ live

/// `/events`: one `changed` event with the hub's checkpoint now, then one
/// after every applied batch (coalesced: a slow reader gets the latest).
async fn events(State(app): State<App>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = WatchStream::new(app.hub.changed.subscribe())
        .map(|c| Ok(Event::default().event("changed").data(c.to_string())))
        .take_until(app.shutdown.clone().cancelled_owned());
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The page's script: live refresh of the main content, unit search.
const SCRIPT: &str = include_str!("static/app.js");
/// The page's styles, embedded in every page.
pub(crate) const STYLE: &str = include_str!("static/app.css");

async fn script() -> Response {
    let mut r = Response::new(Body::from(SCRIPT));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
