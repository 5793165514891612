//! Sending one message through one channel, once: a webhook's JSON POST (signed with HMAC-SHA256 when asked),
//! an ntfy publish (ntfy's JSON publishing: topic, title, message, priority, tags), an e-mail over SMTP with
//! STARTTLS or TLS. Retries are the worker's business; errors here are one attempt's, in words, without secrets.

use hmac::{Hmac, Mac};
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde_json::json;
use sha2::Sha256;

use super::message::Message;
use super::secrets::{self, SecretError};
use crate::config::{EmailChannel, NtfyChannel, WebhookChannel};
use crate::model::Level;

/// The header carrying a webhook body's signature: `sha256=<hex HMAC-SHA256 of the body>`.
pub const SIGNATURE_HEADER: &str = "X-Docktray-Signature-256";
/// The header of an e-mail naming the level of what it reports.
pub const LEVEL_HEADER: &str = "X-Docktray-Level";

/// Why one attempt failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum SendError {
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("{0}")]
    Failed(String),
}

/// One configured channel, ready to send.
#[derive(Debug, Clone, PartialEq)]
pub enum Sender {
    Webhook(WebhookChannel),
    Ntfy(NtfyChannel),
    Email(EmailChannel),
}

impl Sender {
    /// `webhook:NAME`, `ntfy` or `email`.
    pub fn name(&self) -> String {
        match self {
            Self::Webhook(hook) => hook.channel_name(),
            Self::Ntfy(_) => "ntfy".to_owned(),
            Self::Email(_) => "email".to_owned(),
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Self::Webhook(_) => "webhook",
            Self::Ntfy(_) => "ntfy",
            Self::Email(_) => "email",
        }
    }

    /// Where it sends, without secrets.
    pub fn destination(&self) -> String {
        match self {
            Self::Webhook(hook) => without_credentials(&hook.url),
            Self::Ntfy(ntfy) => without_credentials(&ntfy.topic_url()),
            Self::Email(email) => format!(
                "smtp://{}:{} to {}",
                email.server,
                email.effective_port(),
                email.to.join(", ")
            ),
        }
    }

    pub fn delivery(&self) -> crate::config::channels::Delivery {
        match self {
            Self::Webhook(hook) => hook.delivery(),
            Self::Ntfy(ntfy) => ntfy.delivery(),
            Self::Email(email) => email.delivery(),
        }
    }

    /// One attempt.
    pub async fn send(&self, http: &reqwest::Client, message: &Message) -> Result<(), SendError> {
        let timeout = self.delivery().timeout;
        match self {
            Self::Webhook(hook) => webhook(http, hook, message, timeout).await,
            Self::Ntfy(ntfy) => publish(http, ntfy, message, timeout).await,
            Self::Email(email) => mail(email, message, timeout).await,
        }
    }
}

/// A URL as shown: user and password left out.
fn without_credentials(url: &str) -> String {
    match reqwest::Url::parse(url.trim()) {
        Ok(mut parsed) => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => url.to_owned(),
    }
}

/// reqwest's error in words, with its causes, never the URL's credentials.
fn http_error(err: reqwest::Error) -> String {
    let err = err.without_url();
    let mut text = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

async fn check(
    response: Result<reqwest::Response, reqwest::Error>,
    what: &str,
) -> Result<(), SendError> {
    let response =
        response.map_err(|err| SendError::Failed(format!("{what}: {}", http_error(err))))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.unwrap_or_default();
    let body: String = body.chars().filter(|c| !c.is_control()).take(200).collect();
    Err(SendError::Failed(format!(
        "{what} answered {status}{}",
        if body.is_empty() {
            String::new()
        } else {
            format!(": {body}")
        }
    )))
}

/// The hex HMAC-SHA256 of `body` under `key`, as `sha256=<hex>`.
pub fn signature(key: &[u8], body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => return String::new(),
    };
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn webhook(
    http: &reqwest::Client,
    hook: &WebhookChannel,
    message: &Message,
    timeout: std::time::Duration,
) -> Result<(), SendError> {
    let body = serde_json::to_vec(message)
        .map_err(|err| SendError::Failed(format!("cannot write the JSON body: {err}")))?;
    let mut request = http
        .post(hook.url.trim())
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(reqwest::header::USER_AGENT, user_agent());
    for (name, value) in &hook.headers {
        request = request.header(name.as_str(), value.as_str());
    }
    if hook.sign {
        let secret = secrets::resolve(&hook.channel_name()).await?;
        request = request.header(
            SIGNATURE_HEADER,
            signature(secret.expose().as_bytes(), &body),
        );
    }
    check(request.body(body).send().await, "the webhook").await
}

/// ntfy's priorities: 5 urgent, 4 high, 3 default, 2 low.
pub fn ntfy_priority(level: Level) -> u8 {
    match level {
        Level::Critical => 5,
        Level::Warning => 4,
        Level::Info => 3,
        Level::Resolved => 2,
    }
}

fn ntfy_tags(level: Level) -> &'static str {
    match level {
        Level::Critical => "rotating_light",
        Level::Warning => "warning",
        Level::Info => "information_source",
        Level::Resolved => "white_check_mark",
    }
}

/// ntfy's JSON publishing: a POST of `{topic, title, message, priority, tags}` to the server's root URL.
async fn publish(
    http: &reqwest::Client,
    ntfy: &NtfyChannel,
    message: &Message,
    timeout: std::time::Duration,
) -> Result<(), SendError> {
    let body = json!({
        "topic": ntfy.topic.trim(),
        "title": message.title,
        "message": if message.text.is_empty() { message.title.clone() } else { message.text.clone() },
        "priority": ntfy_priority(message.level),
        "tags": [ntfy_tags(message.level), "docktray"],
    });
    let root = format!("{}/", ntfy.server.trim().trim_end_matches('/'));
    let mut request = http
        .post(root)
        .timeout(timeout)
        .header(reqwest::header::USER_AGENT, user_agent())
        .json(&body);
    if ntfy.token {
        let token = secrets::resolve("ntfy").await?;
        request = request.bearer_auth(token.expose());
    }
    check(request.send().await, "the ntfy server").await
}

fn user_agent() -> String {
    format!("Docktray/{}", env!("CARGO_PKG_VERSION"))
}

/// "[Docktray] CRITICAL: web on local: CPU critical".
pub fn subject(message: &Message) -> String {
    let level = if message.test {
        "TEST".to_owned()
    } else {
        message.level.as_str().to_ascii_uppercase()
    };
    format!("[Docktray] {level}: {}", message.title)
}

async fn mail(
    email: &EmailChannel,
    message: &Message,
    timeout: std::time::Duration,
) -> Result<(), SendError> {
    let failed =
        |what: &str, err: &dyn std::fmt::Display| SendError::Failed(format!("{what}: {err}"));
    let from: Mailbox = email
        .from
        .parse()
        .map_err(|err| failed("the sender address", &err))?;
    let mut builder = lettre::Message::builder()
        .from(from)
        .subject(subject(message))
        .header(ContentType::TEXT_PLAIN);
    for to in &email.to {
        let to: Mailbox = to
            .parse()
            .map_err(|err| failed("a recipient address", &err))?;
        builder = builder.to(to);
    }
    let mut mail = builder
        .body(format!(
            "{}\n\n{}\n\n-- \nDocktray, {}\n",
            message.title,
            message.text,
            message.sent_at.to_rfc3339()
        ))
        .map_err(|err| failed("cannot write the e-mail", &err))?;
    mail.headers_mut().insert_raw(HeaderValue::new(
        HeaderName::new_from_ascii_str(LEVEL_HEADER),
        message.level.as_str().to_owned(),
    ));
    let server = email.server.trim();
    let mut tls = TlsParameters::builder(server.to_owned());
    if !email.ca_file.trim().is_empty() {
        let pem = std::fs::read(email.ca_file.trim()).map_err(|err| {
            failed(
                &format!("cannot read ca_file {}", email.ca_file.trim()),
                &err,
            )
        })?;
        let certificate = Certificate::from_pem(&pem)
            .map_err(|err| failed("ca_file is not a PEM certificate", &err))?;
        tls = tls.add_root_certificate(certificate);
    }
    let tls = tls
        .build_rustls()
        .map_err(|err| failed("cannot set up TLS", &err))?;
    let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(server)
        .port(email.effective_port())
        .timeout(Some(timeout))
        .tls(if email.implicit_tls() {
            Tls::Wrapper(tls)
        } else {
            Tls::Required(tls)
        });
    if !email.username.trim().is_empty() {
        let password = secrets::resolve("email").await?;
        transport = transport.credentials(Credentials::new(
            email.username.trim().to_owned(),
            password.expose().to_owned(),
        ));
    }
    let transport = transport.build();
    tokio::time::timeout(timeout, transport.send(mail))
        .await
        .map_err(|_| {
            SendError::Failed(format!(
                "the SMTP server {server} did not finish within {timeout:?}"
            ))
        })?
        .map_err(|err| failed(&format!("the SMTP server {server}"), &err))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn destinations_leave_credentials_out() {
        assert_eq!(
            without_credentials("https://user:pw@hooks.example.com/x"),
            "https://hooks.example.com/x"
        );
        assert_eq!(ntfy_priority(Level::Critical), 5);
        assert_eq!(ntfy_priority(Level::Resolved), 2);
    }
}
