//! What every request passes before a handler: the `Host` check (a DNS-rebinding page sends its own name), the
//! `Origin` check (a web page must not drive the API; no CORS is ever granted), then the bearer token (all but
//! `/healthz` and `/readiness`). REST requests also get a time limit. Refusals never echo the token.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, HOST, ORIGIN, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use super::routes::ApiState;
use super::token::ApiToken;
use crate::config::ApiConfig;

/// The WebSocket subprotocol prefix a browser puts its token in (browsers cannot set `Authorization` on a
/// WebSocket): `Sec-WebSocket-Protocol: docktray, bearer.<token>`.
pub const WS_TOKEN_PROTOCOL: &str = "bearer.";
/// The subprotocol the server answers with.
pub const WS_PROTOCOL: &str = "docktray";

/// Paths answered without a token (Kubernetes-style probes).
const OPEN_PATHS: &[&str] = &["/healthz", "/readiness"];

/// Who may call: the names the API answers to and the origins allowed.
#[derive(Debug, Clone)]
pub struct Rules {
    listen: SocketAddr,
    scheme: &'static str,
    hosts: Vec<String>,
    origins: Vec<String>,
}

impl Rules {
    pub fn new(api: &ApiConfig, listen: SocketAddr, scheme: &'static str) -> Self {
        Self {
            listen,
            scheme,
            hosts: api
                .allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            origins: api
                .allowed_origins
                .iter()
                .map(|o| o.trim().trim_end_matches('/').to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a `Host` header names this server: its address, `localhost`, a configured name, or any IP
    /// address when it listens on all of them (an address cannot be rebound; a name can).
    pub fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host).to_ascii_lowercase();
        if name == "localhost" || self.hosts.contains(&name) {
            return true;
        }
        let Ok(ip) = name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        else {
            return false;
        };
        ip == self.listen.ip() || self.listen.ip().is_unspecified()
    }

    /// Whether a request's `Origin` may call: the API's own origin, or a configured one.
    pub fn origin_allowed(&self, origin: &str, host: &str) -> bool {
        let origin = origin.trim().trim_end_matches('/').to_ascii_lowercase();
        origin == format!("{}://{}", self.scheme, host.to_ascii_lowercase())
            || self.origins.contains(&origin)
    }
}

/// The host part of a `Host` header (`[::1]:7583` -> `[::1]`, `example.org:80` -> `example.org`).
fn host_name(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split(']').next().map_or(host, |h| &host[..=h.len()]);
    }
    host.rsplit_once(':')
        .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
        .map_or(host, |(name, _)| name)
}

/// Untrusted text in a message, cut short.
fn shown(text: &str) -> String {
    text.chars().take(100).collect()
}

/// Host, Origin and token checks, in that order.
pub async fn check(State(state): State<Arc<ApiState>>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let host = headers
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    if !state.rules.host_allowed(&host) {
        return ApiError::forbidden(format!(
            "this API does not answer to the host name '{}': use its address or localhost, or add the name to \
             [api] allowed_hosts",
            shown(&host)
        ))
        .into_response();
    }
    if let Some(origin) = headers.get(ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        if !state.rules.origin_allowed(origin, &host) {
            return ApiError::forbidden(format!(
                "requests from the web origin '{}' are not allowed: add it to [api] allowed_origins if that page \
                 should use the API",
                shown(origin)
            ))
            .into_response();
        }
    }
    let path = request.uri().path();
    let method = request.method();
    let open = OPEN_PATHS.contains(&path)
        || super::page::is_page(method, path)
        || (*method == axum::http::Method::POST && path == super::session::SESSION_PATH);
    if !open {
        let authorized = if has_bearer(headers) {
            authorize(headers, &state.token)
        } else {
            state.sessions.authorize(method, headers)
        };
        if let Err(refusal) = authorized {
            let mut response = refusal.into_response();
            response
                .headers_mut()
                .insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            return response;
        }
    }
    next.run(request).await
}

/// Whether the request offers the token itself (a header, or a WebSocket subprotocol); else a page's session
/// cookie is looked for.
pub fn has_bearer(headers: &HeaderMap) -> bool {
    headers.contains_key(AUTHORIZATION) || websocket_token(headers).is_some()
}

/// The token from `Authorization: Bearer`, or from a WebSocket's `bearer.<token>` subprotocol.
fn authorize(headers: &HeaderMap, token: &ApiToken) -> Result<(), ApiError> {
    let offered = match headers.get(AUTHORIZATION) {
        Some(value) => {
            let value = value.to_str().unwrap_or_default().trim();
            let Some((scheme, credentials)) = value.split_once(' ') else {
                return Err(ApiError::unauthorized(
                    "the Authorization header must be `Bearer <token>` (see `docktray api token`)",
                ));
            };
            if !scheme.eq_ignore_ascii_case("bearer") {
                return Err(ApiError::unauthorized(
                    "the Authorization header must use the Bearer scheme: `Bearer <token>`",
                ));
            }
            credentials.trim().to_owned()
        }
        None => match websocket_token(headers) {
            Some(offered) => offered,
            None => {
                return Err(ApiError::unauthorized(
                    "this endpoint needs `Authorization: Bearer <token>`; `docktray api token` prints the token",
                ))
            }
        },
    };
    if token.matches(&offered) {
        Ok(())
    } else {
        Err(ApiError::unauthorized(
            "the bearer token is wrong: `docktray api token` prints the one in use (a rotated token applies \
             after a restart)",
        ))
    }
}

fn websocket_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .find_map(|protocol| protocol.strip_prefix(WS_TOKEN_PROTOCOL))
        .map(str::to_owned)
}

/// A time limit on a REST request: past it the answer is 503 with a JSON error. Streams (WebSocket upgrades,
/// Server-Sent Events) last as long as their client.
pub async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if request.headers().contains_key(axum::http::header::UPGRADE)
        || path == "/api/v1/events"
        || path.ends_with("/logs")
    {
        return next.run(request).await;
    }
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::timeout(format!(
            "the request took longer than {} ([api] request_timeout)",
            crate::util::format_duration(limit)
        ))
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(listen: &str) -> Rules {
        let api = ApiConfig {
            allowed_hosts: vec!["docktray.lan".into()],
            allowed_origins: vec!["https://dash.example.com".into()],
            ..ApiConfig::default()
        };
        Rules::new(&api, listen.parse().expect("address"), "http")
    }

    #[test]
    fn hosts_are_the_address_localhost_or_configured_names() {
        let r = rules("127.0.0.1:7583");
        for good in [
            "127.0.0.1:7583",
            "localhost:7583",
            "localhost",
            "docktray.lan:7583",
        ] {
            assert!(r.host_allowed(good), "{good}");
        }
        for bad in [
            "evil.example:7583",
            "10.0.0.1:7583",
            "",
            "127.0.0.1.nip.io:7583",
        ] {
            assert!(!r.host_allowed(bad), "{bad}");
        }
        let any = rules("0.0.0.0:7583");
        assert!(any.host_allowed("192.168.1.20:7583"));
        assert!(!any.host_allowed("rebind.example:7583"));
        assert!(rules("[::1]:7583").host_allowed("[::1]:7583"));
    }

    #[test]
    fn origins_are_the_apis_own_or_configured() {
        let r = rules("127.0.0.1:7583");
        assert!(r.origin_allowed("http://127.0.0.1:7583", "127.0.0.1:7583"));
        assert!(r.origin_allowed("https://dash.example.com", "127.0.0.1:7583"));
        assert!(!r.origin_allowed("http://evil.example", "127.0.0.1:7583"));
        assert!(!r.origin_allowed("null", "127.0.0.1:7583"));
    }
}
