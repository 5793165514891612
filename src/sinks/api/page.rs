//! The window's page in a browser: the built UI (ui/dist, embedded at compile time by build.rs) served at `/`
//! with a strict Content-Security-Policy. The page talks to this same API (its HTTP backend, ui/src/lib/http/),
//! signed in with a session cookie ([`super::session`]). Asset names carry Vite's content hash, so they are
//! cached for good; `index.html` is never cached, so a new build is picked up at the next load. `/docs` is the
//! API reference (ui/docs.html), a page of the same build that renders `/api/v1/openapi.json`.

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use super::error::ApiError;

include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));

/// Only this origin's scripts, styles and connections (the API's own REST and WebSocket), no inline code, no
/// framing, no forms posted elsewhere.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; \
                       form-action 'none'; frame-ancestors 'none'";

/// What the page reads to know it is served by `docktray serve` (and not by Tauri or `vite preview`).
const BACKEND_META: &str = r#"<meta name="docktray-backend" content="http" />"#;

/// Whether `path` is one of the page's files (answered without a token: the page holds no data).
pub fn is_page(method: &Method, path: &str) -> bool {
    (*method == Method::GET || *method == Method::HEAD) && (path == "/" || lookup(path).is_some())
}

/// The file a path names: (its name in ui/dist, its bytes).
fn lookup(path: &str) -> Option<(&'static str, &'static [u8])> {
    let path = match path {
        "/" => "/index.html",
        // The API reference (ui/docs.html), rendered from /api/v1/openapi.json.
        "/docs" => "/docs.html",
        other => other,
    };
    UI_FILES
        .iter()
        .find(|(name, _)| *name == path)
        .map(|(name, bytes)| (*name, *bytes))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" => "application/json",
        "woff2" => "font/woff2",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// One of the page's files, or `None` when `path` is not one.
pub fn serve(path: &str) -> Option<Response> {
    let (name, bytes) = lookup(path)?;
    let index = name == "/index.html";
    let body = if index {
        let html = String::from_utf8_lossy(bytes);
        html.replacen("</head>", &format!("  {BACKEND_META}\n  </head>"), 1)
            .into_bytes()
    } else {
        bytes.to_vec()
    };
    let mut response = (StatusCode::OK, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type(name)));
    headers.insert(
        CACHE_CONTROL,
        HeaderValue::from_static(if path.starts_with("/assets/") {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        }),
    );
    secure_headers(headers);
    Some(response)
}

/// The headers every page answer carries.
fn secure_headers(headers: &mut axum::http::HeaderMap) {
    for (name, value) in [
        ("content-security-policy", CSP),
        ("x-content-type-options", "nosniff"),
        ("referrer-policy", "no-referrer"),
        ("x-frame-options", "DENY"),
        ("cross-origin-opener-policy", "same-origin"),
    ] {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
}

/// `/` when the binary was built without the UI: says how to build it.
fn not_built() -> Response {
    let mut response = (
        StatusCode::NOT_FOUND,
        "This docktray was built without its web page: run scripts/build-ui.sh, then build docktray again.\n",
    )
        .into_response();
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    secure_headers(response.headers_mut());
    response
}

/// Unknown paths: the page's files, else a JSON 404 listing where to look.
pub async fn fallback(method: Method, uri: Uri) -> Response {
    if method == Method::GET || method == Method::HEAD {
        if let Some(response) = serve(uri.path()) {
            return response;
        }
        if uri.path() == "/" {
            return not_built();
        }
    }
    ApiError::not_found("no such endpoint: GET /api/v1/openapi.json lists them all (docs/api.md)")
        .into_response()
}
