//! Rate limits on the doors open to the internet: logging in (`POST /api/v1/session`), the
//! public certificate check (`GET /verify/{code}`, `GET /api/v1/verify/{code}`) and the
//! 数据反馈 webhook (`POST /api/v1/feedback/hook/{platform}`, token per channel), per client
//! address, with the `governor` crate (GCRA). Beyond the quota the answer is 429 with
//! `Retry-After` and a Chinese message; a refused login is audited as `limited`
//! ([`crate::auth::lockout`]). Together with the account lock-out this makes guessing
//! passwords or verification codes slow: [`LOGIN_PER_MINUTE`] tries a minute per address, and
//! five wrong passwords lock the account for 15 minutes whatever the address.
//!
//! The client address is the TCP peer (`serve` runs the app with connect info). Behind a
//! reverse proxy every client would share the proxy's address; the proxies named in
//! `[server] trusted_proxies` are believed about the client instead ([`TrustedProxies`]:
//! `X-Forwarded-For` read from the right, the first address that is not a trusted proxy),
//! so the limits and the login audit count real clients. A peer that is not a trusted proxy
//! is never believed: a client cannot escape its quota by forging the header.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Arc;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use ipnet::IpNet;
use serde_json::json;

use crate::auth::Accounts;
use crate::auth::lockout::Outcome;

/// Login attempts per minute per client address (burst: all of them at once).
pub const LOGIN_PER_MINUTE: u32 = 10;
/// Certificate verifications per minute per client address.
pub const VERIFY_PER_MINUTE: u32 = 60;
/// Webhook deliveries per minute per client address (a platform pushing a batch every
/// second stays well inside; a flood of forged tokens does not).
pub const HOOK_PER_MINUTE: u32 = 600;
/// Addresses remembered before the idle ones are forgotten.
const FORGET_ABOVE: usize = 10_000;

/// The caller's address as text (`127.0.0.1`): the client a trusted proxy names, else the
/// TCP peer; `unknown` without connect info.
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            client_ip(&parts.extensions).map_or_else(|| "unknown".into(), |ip| ip.to_string()),
        ))
    }
}

/// The client's address as resolved by the limits' layer (through trusted proxies).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

/// The resolved client address, else the TCP peer's, else `None`.
fn client_ip(ext: &axum::http::Extensions) -> Option<IpAddr> {
    ext.get::<ClientIp>()
        .map(|c| c.0)
        .or_else(|| ext.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip()))
}

/// The reverse proxies (addresses or networks, `[server] trusted_proxies`) whose
/// `X-Forwarded-For` is believed. Empty: the TCP peer is the client.
#[derive(Clone, Debug, Default)]
pub struct TrustedProxies(Arc<Vec<IpNet>>);

impl TrustedProxies {
    /// Proxies at these addresses or networks (`127.0.0.1/32`, `10.0.0.0/8`, `::1/128`).
    pub fn new(nets: Vec<IpNet>) -> Self {
        Self(Arc::new(nets))
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        // An IPv4 client reaching a dual-stack socket shows as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// The client of a request from `peer` carrying `headers`: `peer` unless it is a trusted
    /// proxy; else the `X-Forwarded-For` chain (all its headers, in order) walked from the
    /// right past trusted proxies to the first address that is not one. An entry that is
    /// not an address stops the walk at the last believed hop (what it says cannot be
    /// trusted); a chain of trusted proxies only gives its leftmost entry.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        if !self.trusts(peer) {
            return peer;
        }
        let chain: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let mut client = peer;
        for hop in chain.iter().rev() {
            let Ok(ip) = hop.parse::<IpAddr>() else {
                return client;
            };
            client = ip;
            if !self.trusts(ip) {
                return ip;
            }
        }
        client
    }
}

/// Puts the [`ClientIp`] of each request in its extensions.
async fn resolve_client(State(t): State<TrustedProxies>, mut req: Request, next: Next) -> Response {
    if let Some(peer) = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
    {
        let ip = t.client(peer, req.headers());
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// The limiters of the daemon.
#[derive(Clone)]
pub struct Limits {
    login: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    verify: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    hook: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    accounts: Accounts,
    trusted: TrustedProxies,
}

fn per_minute(n: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN))
}

impl Limits {
    /// Limits of `login_per_minute` logins and `verify_per_minute` verifications a minute
    /// per client address; limited logins are audited through `accounts`.
    pub fn new(accounts: Accounts, login_per_minute: u32, verify_per_minute: u32) -> Self {
        Self {
            login: Arc::new(RateLimiter::keyed(per_minute(login_per_minute))),
            verify: Arc::new(RateLimiter::keyed(per_minute(verify_per_minute))),
            hook: Arc::new(RateLimiter::keyed(per_minute(HOOK_PER_MINUTE))),
            accounts,
            trusted: TrustedProxies::default(),
        }
    }

    /// The same limits, believing `proxies` about the client's address.
    #[must_use]
    pub fn trusting(mut self, proxies: TrustedProxies) -> Self {
        self.trusted = proxies;
        self
    }

    /// The same limits with `n` webhook deliveries a minute per address (default
    /// [`HOOK_PER_MINUTE`]).
    #[must_use]
    pub fn hooks_per_minute(mut self, n: u32) -> Self {
        self.hook = Arc::new(RateLimiter::keyed(per_minute(n)));
        self
    }
}

/// `app` behind the limits ([`LOGIN_PER_MINUTE`], [`VERIFY_PER_MINUTE`]), believing
/// `proxies` about the client's address.
pub fn layer(app: Router, accounts: Accounts, proxies: TrustedProxies) -> Router {
    layer_with(
        app,
        Limits::new(accounts, LOGIN_PER_MINUTE, VERIFY_PER_MINUTE).trusting(proxies),
    )
}

/// `app` behind the given limits (the client's address resolved first, through the
/// limits' trusted proxies).
pub fn layer_with(app: Router, limits: Limits) -> Router {
    let trusted = limits.trusted.clone();
    app.layer(middleware::from_fn_with_state(limits, limit))
        .layer(middleware::from_fn_with_state(trusted, resolve_client))
}

async fn limit(State(l): State<Limits>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    let is_login = req.method() == Method::POST && path == "/api/v1/session";
    let is_verify = req.method() == Method::GET
        && (path.starts_with("/verify/") || path.starts_with("/api/v1/verify/"));
    let is_hook = req.method() == Method::POST && path.starts_with("/api/v1/feedback/hook/");
    let limiter = match (is_login, is_verify, is_hook) {
        (true, _, _) => &l.login,
        (_, true, _) => &l.verify,
        (_, _, true) => &l.hook,
        _ => return next.run(req).await,
    };
    let ip = client_ip(req.extensions()).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if limiter.len() > FORGET_ABOVE {
        limiter.retain_recent();
    }
    let Err(not_until) = limiter.check_key(&ip) else {
        return next.run(req).await;
    };
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    let secs = wait.as_secs() + 1;
    if is_login {
        tracing::warn!(client = %ip, "login rate limit reached");
        if let Err(e) = l
            .accounts
            .audit_login("", &ip.to_string(), Outcome::Limited)
            .await
        {
            tracing::warn!(error = %e, "login audit not written");
        }
    }
    if is_hook {
        tracing::warn!(client = %ip, "webhook rate limit reached");
    }
    let what = match (is_login, is_hook) {
        (true, _) => "登录",
        (_, true) => "数据推送",
        _ => "证书核验",
    };
    let mut r = (
        StatusCode::TOO_MANY_REQUESTS,
        axum::Json(json!({ "error": {
            "code": "rate_limited",
            "message": format!("{what}请求过于频繁，请 {secs} 秒后再试"),
        }})),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}
