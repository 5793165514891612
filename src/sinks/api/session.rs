//! Browser sign-in for the page ([`super::page`]): the page sends the API token once (`POST /api/v1/session`),
//! the server answers with a `Secure`, `HttpOnly`, `SameSite=Strict` session cookie (so the token is never kept
//! by the page, in storage or in a URL) and a CSRF token the page keeps in memory. A request signed in by the
//! cookie that changes anything (not GET/HEAD) must carry that CSRF token in [`CSRF_HEADER`]; signing out
//! (`DELETE /api/v1/session`) forgets the session at once, so the old cookie is refused from then on.
//! Sessions live in memory: a restart signs everyone out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult};
use super::routes::ApiState;

/// The session cookie. `__Host-`: only set over a secure origin, for `/`, never for another domain.
pub const COOKIE_NAME: &str = "__Host-docktray";
/// The header carrying the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-docktray-csrf";
/// The WebSocket subprotocol prefix a page offers its CSRF token in, on a WebSocket that changes something (a
/// terminal): browsers cannot set headers on a WebSocket. `Sec-WebSocket-Protocol: docktray, csrf.<token>`.
pub const WS_CSRF_PROTOCOL: &str = "csrf.";
/// The sign-in path (answered without a token: the token is in its body).
pub const SESSION_PATH: &str = "/api/v1/session";
/// A session ends this long after sign-in.
const LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// At most this many sessions are kept; the oldest is dropped for a new one.
const MAX_SESSIONS: usize = 256;

struct Entry {
    csrf: String,
    started: Instant,
}

/// The signed-in browsers.
#[derive(Default, Clone)]
pub struct Sessions {
    entries: Arc<Mutex<HashMap<String, Entry>>>,
}

fn random_hex() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Sessions {
    /// A new session: (cookie value, CSRF token).
    fn open(&self) -> (String, String) {
        let (id, csrf) = (random_hex(), random_hex());
        if let Ok(mut entries) = self.entries.lock() {
            entries.retain(|_, e| e.started.elapsed() < LIFETIME);
            if entries.len() >= MAX_SESSIONS {
                let oldest = entries
                    .iter()
                    .min_by_key(|(_, e)| e.started)
                    .map(|(id, _)| id.clone());
                if let Some(oldest) = oldest {
                    entries.remove(&oldest);
                }
            }
            entries.insert(
                id.clone(),
                Entry {
                    csrf: csrf.clone(),
                    started: Instant::now(),
                },
            );
        }
        (id, csrf)
    }

    /// The CSRF token of a live session.
    fn csrf(&self, id: &str) -> Option<String> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(id)
            .filter(|e| e.started.elapsed() < LIFETIME)
            .map(|e| e.csrf.clone())
    }

    fn close(&self, id: &str) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(id);
        }
    }

    /// Whether a request without a bearer token is signed in by its cookie, and (for a request that changes
    /// something) carries the session's CSRF token.
    pub fn authorize(&self, method: &Method, headers: &HeaderMap) -> Result<(), ApiError> {
        let Some(id) = cookie(headers) else {
            return Err(ApiError::unauthorized(
                "this endpoint needs `Authorization: Bearer <token>` or a signed-in page; `docktray api token` \
                 prints the token",
            ));
        };
        let Some(csrf) = self.csrf(&id) else {
            return Err(ApiError::unauthorized(
                "the session has ended (signed out, expired or the server restarted): sign in again",
            ));
        };
        if matches!(*method, Method::GET | Method::HEAD) {
            return Ok(());
        }
        let offered = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if offered.len() == csrf.len() && bool::from(offered.as_bytes().ct_eq(csrf.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a signed-in request that changes something needs the session's {CSRF_HEADER} header \
                 (reload the page)"
            )))
        }
    }
}

impl Sessions {
    /// For a WebSocket that changes something, opened by a page signed in with its cookie: the session's CSRF
    /// token must be offered as the `csrf.<token>` subprotocol (a GET upgrade carries no CSRF header).
    pub fn authorize_websocket(&self, headers: &HeaderMap) -> Result<(), ApiError> {
        let csrf = cookie(headers).and_then(|id| self.csrf(&id));
        let Some(csrf) = csrf else {
            return Err(ApiError::unauthorized(
                "the session has ended (signed out, expired or the server restarted): sign in again",
            ));
        };
        let offered = headers
            .get_all("sec-websocket-protocol")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .find_map(|protocol| protocol.trim().strip_prefix(WS_CSRF_PROTOCOL))
            .unwrap_or_default();
        if offered.len() == csrf.len() && bool::from(offered.as_bytes().ct_eq(csrf.as_bytes())) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "a signed-in page's WebSocket that changes something needs the session's CSRF token as the \
                 `{WS_CSRF_PROTOCOL}<token>` subprotocol (reload the page)"
            )))
        }
    }
}

/// The session cookie's value, if the request has one.
fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.trim().to_owned())
        .filter(|value| !value.is_empty())
}

/// `POST /api/v1/session`'s body.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SignIn {
    /// The API token (`docktray api token`).
    pub token: String,
}

/// What a signed-in page learns.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionInfo {
    /// Send this in the `x-docktray-csrf` header with every request that changes something; `null` when the
    /// caller used a bearer token (no session).
    pub csrf: Option<String>,
    /// Whether container actions are allowed (`[api] allow_actions`).
    pub allow_actions: bool,
    pub version: &'static str,
}

fn set_cookie(value: &str, max_age: Option<u64>) -> Option<HeaderValue> {
    let age = max_age.map_or(String::new(), |a| format!("; Max-Age={a}"));
    HeaderValue::from_str(&format!(
        "{COOKIE_NAME}={value}; Path=/; HttpOnly; Secure; SameSite=Strict{age}"
    ))
    .ok()
}

/// Signs a page in: the token in the body, the session in the answer's cookie.
pub async fn sign_in(
    State(state): State<Arc<ApiState>>,
    body: Result<Json<SignIn>, JsonRejection>,
) -> ApiResult<Response> {
    let Json(body) = body.map_err(ApiError::body)?;
    if !state.token.matches(body.token.trim()) {
        return Err(ApiError::unauthorized(
            "that is not the API token: `docktray api token` on the server prints it",
        ));
    }
    let (id, csrf) = state.sessions.open();
    let mut response = Json(SessionInfo {
        csrf: Some(csrf),
        allow_actions: state.api.allow_actions,
        version: env!("CARGO_PKG_VERSION"),
    })
    .into_response();
    if let Some(value) = set_cookie(&id, None) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}

/// The signed-in page's session (after a reload the page asks for its CSRF token again).
pub async fn current(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Json<SessionInfo> {
    Json(SessionInfo {
        csrf: cookie(&headers).and_then(|id| state.sessions.csrf(&id)),
        allow_actions: state.api.allow_actions,
        version: env!("CARGO_PKG_VERSION"),
    })
}

/// Signs out: the session is forgotten (the old cookie is refused from now on) and the cookie cleared.
pub async fn sign_out(State(state): State<Arc<ApiState>>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers) {
        state.sessions.close(&id);
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Some(value) = set_cookie("", Some(0)) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            COOKIE,
            HeaderValue::from_str(&format!("other=1; {COOKIE_NAME}={value}")).expect("header"),
        );
        headers
    }

    #[test]
    fn a_session_signs_in_reads_and_needs_csrf_to_change_things() {
        let sessions = Sessions::default();
        let (id, csrf) = sessions.open();
        let mut headers = with_cookie(&id);
        assert!(sessions.authorize(&Method::GET, &headers).is_ok());
        let refused = sessions.authorize(&Method::POST, &headers).unwrap_err();
        assert_eq!(refused.status, StatusCode::FORBIDDEN);
        headers.insert(CSRF_HEADER, HeaderValue::from_static("wrong"));
        assert!(sessions.authorize(&Method::POST, &headers).is_err());
        headers.insert(CSRF_HEADER, HeaderValue::from_str(&csrf).expect("header"));
        assert!(sessions.authorize(&Method::POST, &headers).is_ok());
        sessions.close(&id);
        let ended = sessions.authorize(&Method::GET, &headers).unwrap_err();
        assert_eq!(ended.status, StatusCode::UNAUTHORIZED);
        assert!(sessions
            .authorize(&Method::GET, &with_cookie("made-up"))
            .is_err());
        assert!(sessions.authorize(&Method::GET, &HeaderMap::new()).is_err());
    }

    #[test]
    fn a_pages_websocket_that_changes_things_offers_the_csrf_token() {
        let sessions = Sessions::default();
        let (id, csrf) = sessions.open();
        let mut headers = with_cookie(&id);
        assert_eq!(
            sessions.authorize_websocket(&headers).unwrap_err().status,
            StatusCode::FORBIDDEN
        );
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("docktray, csrf.wrong"),
        );
        assert!(sessions.authorize_websocket(&headers).is_err());
        headers.insert(
            "sec-websocket-protocol",
            HeaderValue::from_str(&format!("docktray, csrf.{csrf}")).expect("header"),
        );
        assert!(sessions.authorize_websocket(&headers).is_ok());
        sessions.close(&id);
        assert_eq!(
            sessions.authorize_websocket(&headers).unwrap_err().status,
            StatusCode::UNAUTHORIZED
        );
    }
}
