//! Caddy's admin API, the few calls the sync needs: read the HTTP app, insert a route at the front of a server,
//! replace or delete a route by its `@id` (so nothing else in the config is touched).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// How long one admin call may take. Caddy answers in milliseconds; a config reload can take a moment.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Why an admin call failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AdminError {
    /// No answer: Caddy is not running there, or the network is in the way.
    #[error("no answer from Caddy's admin API at {url}: {detail}")]
    Unreachable { url: String, detail: String },
    /// Caddy answered with an error; its own message is kept (it says what it did not like).
    #[error("Caddy answered {status} to {method} {path}: {message}")]
    Refused {
        method: String,
        path: String,
        status: u16,
        message: String,
    },
}

/// A client of one Caddy's admin API.
#[derive(Debug, Clone)]
pub struct Admin {
    base: String,
    http: reqwest::Client,
}

impl Admin {
    /// `base` is the admin URL without a trailing slash, such as `http://localhost:2019`.
    pub fn new(base: &str) -> Result<Self, AdminError> {
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            // The admin API is usually on loopback: a proxy from the environment must not be in the way.
            .no_proxy()
            .user_agent(concat!("docktray/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| AdminError::Unreachable {
                url: base.to_owned(),
                detail: format!("cannot set up the HTTP client: {err}"),
            })?;
        Ok(Self {
            base: base.to_owned(),
            http,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// The HTTP app's config (`apps.http`): its servers and ports. `Value::Null` when Caddy has no HTTP app.
    pub async fn http_app(&self) -> Result<Value, AdminError> {
        self.call(Method::GET, "/config/apps/http", None).await
    }

    /// Puts `route` first in `server`'s routes, ahead of the user's, so a catch-all route of theirs does not
    /// hide it. `has_routes`: whether the server has a routes list yet (else one is made holding just it).
    pub async fn insert_route(
        &self,
        server: &str,
        has_routes: bool,
        route: &Value,
    ) -> Result<(), AdminError> {
        let server = path_segment(server);
        if has_routes {
            let path = format!("/config/apps/http/servers/{server}/routes/0");
            self.call(Method::PUT, &path, Some(route)).await?;
        } else {
            let path = format!("/config/apps/http/servers/{server}/routes");
            let list = Value::Array(vec![route.clone()]);
            self.call(Method::PUT, &path, Some(&list)).await?;
        }
        Ok(())
    }

    /// Replaces the route with this `@id` where it is.
    pub async fn replace_route(&self, id: &str, route: &Value) -> Result<(), AdminError> {
        let path = format!("/id/{}", path_segment(id));
        self.call(Method::PATCH, &path, Some(route)).await?;
        Ok(())
    }

    /// Deletes the route with this `@id`; one that is already gone is fine.
    pub async fn delete_route(&self, id: &str) -> Result<(), AdminError> {
        let path = format!("/id/{}", path_segment(id));
        match self.call(Method::DELETE, &path, None).await {
            Ok(_) => Ok(()),
            Err(AdminError::Refused { status: 404, .. }) => Ok(()),
            Err(err) => Err(err),
        }
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, AdminError> {
        let url = format!("{}{path}", self.base);
        let mut request = self.http.request(method.clone(), &url);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|err| AdminError::Unreachable {
                url: self.base.clone(),
                detail: describe(&err),
            })?;
        let status = response.status();
        let text = response
            .text()
            .await
            .map_err(|err| AdminError::Unreachable {
                url: self.base.clone(),
                detail: describe(&err),
            })?;
        if !status.is_success() {
            return Err(AdminError::Refused {
                method: method.to_string(),
                path: path.to_owned(),
                status: status.as_u16(),
                message: caddy_message(status, &text),
            });
        }
        if text.trim().is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(&text).map_err(|err| AdminError::Refused {
            method: method.to_string(),
            path: path.to_owned(),
            status: status.as_u16(),
            message: format!("not JSON ({err}): is {} Caddy's admin API?", self.base),
        })
    }
}

/// Caddy's `{"error": "..."}`, else the text as it came (cut short, one line).
fn caddy_message(status: StatusCode, text: &str) -> String {
    let message = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| v.get("error").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| text.trim().to_owned());
    let message: String = message
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(400)
        .collect();
    if message.is_empty() {
        status.to_string()
    } else {
        message
    }
}

/// Server names and route ids are taken as they are, except what would change the path.
fn path_segment(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~') {
                c.to_string()
            } else {
                let mut buffer = [0u8; 4];
                c.encode_utf8(&mut buffer)
                    .bytes()
                    .map(|b| format!("%{b:02X}"))
                    .collect()
            }
        })
        .collect()
}

fn describe(err: &reqwest::Error) -> String {
    if err.is_timeout() {
        format!("no answer within {}", crate::util::format_duration(TIMEOUT))
    } else if err.is_connect() {
        "connection refused or unreachable: is Caddy running, with its admin API at this address ([caddy] admin_url)?"
            .to_owned()
    } else {
        let mut text = err.to_string();
        let mut source = std::error::Error::source(err);
        while let Some(cause) = source {
            text.push_str(": ");
            text.push_str(&cause.to_string());
            source = cause.source();
        }
        text
    }
}
