//! The listener: plain HTTP on loopback, HTTPS with rustls when `[api] tls_cert` / `tls_key` are set. At most
//! `max_connections` connections are served at once (more wait in the kernel's backlog), headers must arrive
//! within [`HEADER_TIMEOUT`], bodies are capped at [`MAX_BODY`] and REST requests at `request_timeout`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::middleware;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::rustls;
use tokio_rustls::TlsAcceptor;

use super::guard::{self, Rules};
use super::hub::{self, Hub};
use super::routes::{self, ApiState};
use super::token::{self, TokenError};
use super::{Listening, Sources};
use crate::config::Config;

/// Request headers must arrive within this (a slow client cannot hold a connection forever).
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// The TLS handshake must finish within this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest request body (a threshold change, a metrics query).
pub const MAX_BODY: usize = 64 * 1024;

/// Why the API did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(
        "cannot listen on {address}: {source} (another program uses the port? set [api] listen or --listen)"
    )]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot use the TLS certificate or key ([api] tls_cert / tls_key): {0}")]
    Tls(String),
    #[error("{0}")]
    Config(String),
}

/// A running API server. [`ApiServer::stop`] ends it.
pub struct ApiServer {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    listening: Listening,
}

impl ApiServer {
    /// Starts serving `config.api` with what `sources` gives. The token is made on first use.
    pub async fn start(config: &Config, sources: Sources) -> Result<Self, StartError> {
        let api = config.api.clone();
        let address = api.address().ok_or_else(|| {
            StartError::Config(format!(
                "[api] listen = \"{}\" is not an address and port",
                api.listen
            ))
        })?;
        let (token, token_source) = token::resolve().await?;
        let tls = if api.tls() {
            Some(tls_acceptor(api.tls_cert.trim(), api.tls_key.trim())?)
        } else {
            None
        };
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| StartError::Bind { address, source })?;
        let address = listener
            .local_addr()
            .map_err(|source| StartError::Bind { address, source })?;
        let scheme = if tls.is_some() { "https" } else { "http" };
        let (router, document) = routes::build();
        let hub = Hub::new(api.client_queue);
        let state = Arc::new(ApiState {
            registry: super::metrics::registry(sources.view.clone()),
            rules: Rules::new(&api, address, scheme),
            openapi: document.to_json().unwrap_or_else(|_| "{}".to_owned()),
            token,
            hub: hub.clone(),
            api: api.clone(),
            saving: tokio::sync::Mutex::new(()),
            sessions: Default::default(),
            sources: sources.clone(),
        });
        let app = router
            .fallback(routes::fallback)
            .layer(middleware::from_fn_with_state(state.clone(), guard::check))
            .layer(middleware::from_fn_with_state(
                api.request_timeout,
                guard::time_limit,
            ))
            .layer(DefaultBodyLimit::max(MAX_BODY))
            .with_state(state);
        let app = super::prefix::under(app, &api.base_path);
        let (stop, stop_rx) = watch::channel(false);
        let hub_task = tokio::spawn(hub::run(
            hub,
            sources.view.clone(),
            sources.updates.resubscribe(),
            stop_rx.clone(),
        ));
        let accept_task = tokio::spawn(accept(listener, app, tls, api.max_connections, stop_rx));
        tracing::info!(%address, scheme, token = %token_source.describe(), "HTTP API listening");
        Ok(Self {
            stop,
            tasks: vec![hub_task, accept_task],
            listening: Listening {
                address,
                scheme,
                token_source,
            },
        })
    }

    pub fn listening(&self) -> &Listening {
        &self.listening
    }

    /// Stops listening and closes every connection.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

fn tls_acceptor(cert: &str, key: &str) -> Result<TlsAcceptor, StartError> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(|found| found.collect::<Result<_, _>>())
        .map_err(|err| StartError::Tls(format!("{cert}: {err}")))?;
    if certs.is_empty() {
        return Err(StartError::Tls(format!("{cert} holds no PEM certificate")));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|err| StartError::Tls(format!("{key}: {err}")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| StartError::Tls(err.to_string()))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| StartError::Tls(err.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts connections (at most `limit` at once) until told to stop, then closes them all.
async fn accept(
    listener: TcpListener,
    app: axum::Router,
    tls: Option<TlsAcceptor>,
    limit: usize,
    mut stop: watch::Receiver<bool>,
) {
    let slots = Arc::new(Semaphore::new(limit.max(1)));
    let mut connections = JoinSet::new();
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            _ = stop.changed() => break,
        };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(err) => {
                    tracing::debug!(%err, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        // Reap finished connections so the set stays small.
        while connections.try_join_next().is_some() {}
        let app = app.clone();
        let tls = tls.clone();
        connections.spawn(async move {
            let _slot = slot;
            let service = TowerToHyperService::new(app);
            let mut http = hyper::server::conn::http1::Builder::new();
            http.timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT);
            let result = match tls {
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => {
                            http.serve_connection(TokioIo::new(stream), service)
                                .with_upgrades()
                                .await
                        }
                        Ok(Err(err)) => {
                            tracing::debug!(%err, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    }
                }
                None => {
                    http.serve_connection(TokioIo::new(stream), service)
                        .with_upgrades()
                        .await
                }
            };
            if let Err(err) = result {
                tracing::debug!(%err, "connection ended with an error");
            }
        });
    }
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}
