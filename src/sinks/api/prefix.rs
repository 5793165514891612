//! `[api] base_path`: behind a reverse proxy under a path prefix (`/docktray`), requests may arrive with the
//! prefix (the proxy passes it on) or without it (the proxy strips it). This outer layer takes the prefix off
//! before routing, so every route, the page and its assets answer both ways; the bare prefix is redirected to
//! `prefix/`, where the page's relative asset and API URLs resolve under the prefix.

use axum::extract::{Request, State};
use axum::http::header::LOCATION;
use axum::http::{HeaderValue, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;

/// `router`, also answering under `base` (no change when `base` is empty).
pub fn under(router: Router, base: &str) -> Router {
    let base = base.trim().to_owned();
    if base.is_empty() {
        return router;
    }
    Router::new()
        .fallback_service(router)
        .layer(axum::middleware::from_fn_with_state(base, strip))
}

async fn strip(State(base): State<String>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path == base {
        let mut response = StatusCode::PERMANENT_REDIRECT.into_response();
        if let Ok(location) = HeaderValue::from_str(&format!("{base}/")) {
            response.headers_mut().insert(LOCATION, location);
        }
        return response;
    }
    if let Some(rest) = path
        .strip_prefix(&base)
        .filter(|rest| rest.starts_with('/'))
    {
        let query = request
            .uri()
            .query()
            .map_or(String::new(), |q| format!("?{q}"));
        if let Ok(uri) = format!("{rest}{query}").parse::<Uri>() {
            *request.uri_mut() = uri;
        }
    }
    next.run(request).await
}
