//! `docktray services` (the services read from container labels, with Caddy's state for each, and the labels
//! that could not be read) and `docktray caddy status` (Caddy's reachability and the routes Docktray keeps
//! there). Both look once and change nothing; `docktray watch` and the desktop app keep Caddy's routes.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use anyhow::{anyhow, Context};
use clap::Subcommand;
use docktray::model::{RouteState, ServiceRegistry, LOCAL_HOST};
use docktray::sinks::caddy::{inspect, shapes};
use docktray::{Config, Engine, Snapshot, SourceState};

use crate::render::clean;
use crate::Failure;

#[derive(Subcommand, Debug)]
pub enum CaddyCommand {
    /// Caddy's state (reachable, last error), the server Docktray uses and each route it keeps there.
    Status {
        /// Print JSON (the HTTP API's /caddy/status).
        #[arg(long)]
        json: bool,
    },
}

/// The engine's first snapshot, with Caddy's reachability and routes looked at once when sync is on.
async fn look(config: &Config) -> Snapshot {
    let engine = Engine::start(config.clone());
    engine.ready(Duration::from_secs(10)).await;
    let mut snapshot = engine.snapshot();
    engine.shutdown().await;
    if config.caddy.enabled() {
        let (source, proxy) = inspect(&snapshot, config).await;
        let registry = ServiceRegistry {
            services: std::mem::take(&mut snapshot.services),
            problems: Vec::new(),
        }
        .with_routes(Some(&proxy));
        snapshot.services = registry.services;
        snapshot.sources.push(source);
        snapshot.proxy = Some(proxy);
    }
    snapshot
}

pub async fn services(config: Config, json: bool) -> Result<(), Failure> {
    let snapshot = look(&config).await;
    let mut out = std::io::stdout().lock();
    if json {
        let answer = shapes::services(&snapshot, &config);
        let text = serde_json::to_string_pretty(&answer).context("formatting JSON")?;
        writeln!(out, "{text}").context("writing to stdout")?;
        return crate::docker_failure(&snapshot)
            .map_or(Ok(()), |reason| Err(anyhow!(reason).into()));
    }
    let colour = std::io::stdout().is_terminal();
    let rows: Vec<[String; 8]> = snapshot
        .services
        .iter()
        .map(|s| {
            [
                clean(&s.name),
                s.kind.as_str().to_owned(),
                clean(&s.url),
                clean(&s.container_name),
                clean(&s.host),
                s.state.as_str().to_owned(),
                s.health
                    .map_or("-", |h| match h {
                        docktray::Health::Starting => "starting",
                        docktray::Health::Healthy => "healthy",
                        docktray::Health::Unhealthy => "unhealthy",
                    })
                    .to_owned(),
                s.caddy.as_str().to_owned(),
            ]
        })
        .collect();
    if rows.is_empty() {
        writeln!(
            out,
            "No services: label a container {prefix}revp.domain=app.example.com and {prefix}revp.port=80 ([services] label_prefix is \"{prefix}\")",
            prefix = clean(&config.services.label_prefix)
        )
        .context("writing to stdout")?;
    } else {
        let header = [
            "NAME",
            "TYPE",
            "URL",
            "CONTAINER",
            "HOST",
            "STATE",
            "HEALTH",
            "CADDY",
        ]
        .map(str::to_owned);
        table(&mut out, &header, &rows).context("writing to stdout")?;
        for service in snapshot
            .services
            .iter()
            .filter(|s| s.caddy_message.is_some())
        {
            let message = service.caddy_message.as_deref().unwrap_or_default();
            writeln!(out, "  {}: {}", clean(&service.url), clean(message))
                .context("writing to stdout")?;
        }
    }
    if !snapshot.service_problems.is_empty() {
        writeln!(out).context("writing to stdout")?;
        let title = format!(
            "PROBLEMS ({}; these services are left out)",
            snapshot.service_problems.len()
        );
        writeln!(
            out,
            "{}",
            if colour {
                format!("\u{1b}[33m{title}\u{1b}[0m")
            } else {
                title
            }
        )
        .context("writing to stdout")?;
        for problem in &snapshot.service_problems {
            let container = if problem.host == LOCAL_HOST {
                clean(&problem.container_name)
            } else {
                format!(
                    "{}:{}",
                    clean(&problem.host),
                    clean(&problem.container_name)
                )
            };
            writeln!(out, "  {container}: {}", clean(&problem.message))
                .context("writing to stdout")?;
        }
    }
    // Without the engine there are no containers to read services from: say why instead of "no services".
    crate::docker_failure(&snapshot).map_or(Ok(()), |reason| Err(anyhow!(reason).into()))
}

pub async fn caddy(config: Config, command: CaddyCommand) -> Result<(), Failure> {
    let CaddyCommand::Status { json } = command;
    let snapshot = if config.caddy.enabled() {
        look(&config).await
    } else {
        Snapshot {
            taken_at: chrono::Utc::now(),
            overall: docktray::alerts::OverallLevel::Ok,
            alerts: Vec::new(),
            sources: Vec::new(),
            hosts: Vec::new(),
            containers: Vec::new(),
            services: Vec::new(),
            service_problems: Vec::new(),
            proxy: None,
            forecasts: Vec::new(),
            channels: Vec::new(),
        }
    };
    let answer = shapes::caddy_status(&snapshot, &config);
    let mut out = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&answer).context("formatting JSON")?;
        writeln!(out, "{text}").context("writing to stdout")?;
    }
    let status = match answer {
        shapes::CaddyStatusAnswer::Off { message, .. } => {
            if !json {
                writeln!(out, "{message}").context("writing to stdout")?;
            }
            return Ok(());
        }
        shapes::CaddyStatusAnswer::On(status) => status,
    };
    if !json {
        let server = match (&status.server, &status.http_server) {
            (Some(main), Some(http)) => format!("servers {main} and {http} (plain HTTP)"),
            (Some(main), None) => format!("server {main}"),
            _ => "no server found".to_owned(),
        };
        writeln!(
            out,
            "Caddy {}  {}  {server}; {} route(s) of Docktray's, {} of yours left alone",
            status.admin_url,
            status.state_text(),
            status.managed_routes_count,
            status.user_routes
        )
        .context("writing to stdout")?;
        if let Some(reason) = &status.reason {
            writeln!(out, "  {}", clean(reason)).context("writing to stdout")?;
        }
        if let Some(error) = &status.last_error {
            writeln!(
                out,
                "  last error {} ({} step): {}",
                error.at.format("%Y-%m-%d %H:%M:%S UTC"),
                error.step.as_str(),
                clean(&error.message)
            )
            .context("writing to stdout")?;
        }
        let rows: Vec<[String; 5]> = status
            .managed_routes
            .values()
            .map(|r| {
                [
                    clean(&r.id),
                    clean(&format!("{}{}", r.domain, r.path)),
                    r.upstream
                        .as_deref()
                        .map(clean)
                        .unwrap_or_else(|| "-".to_owned()),
                    r.state.as_str().to_owned(),
                    r.message.as_deref().map(clean).unwrap_or_default(),
                ]
            })
            .collect();
        if !rows.is_empty() {
            writeln!(out).context("writing to stdout")?;
            let header = ["ROUTE", "DOMAIN", "UPSTREAM", "STATE", "NOTE"].map(str::to_owned);
            table(&mut out, &header, &rows).context("writing to stdout")?;
        }
    }
    match status.state {
        SourceState::Unreachable => Err(anyhow!(
            "Caddy is unreachable: {}",
            status.reason.as_deref().unwrap_or("no answer")
        )
        .into()),
        _ if status
            .managed_routes
            .values()
            .any(|r| r.state == RouteState::Failed) =>
        {
            Err(anyhow!("Caddy has not taken every route (see STATE failed)").into())
        }
        _ => Ok(()),
    }
}

trait StateText {
    fn state_text(&self) -> &'static str;
}

impl StateText for shapes::CaddyStatusOn {
    fn state_text(&self) -> &'static str {
        match self.state {
            SourceState::Up => "up",
            SourceState::Degraded => "degraded",
            SourceState::Unreachable => "UNREACHABLE",
            SourceState::Connecting => "connecting",
        }
    }
}

/// Left-aligned columns as wide as their widest cell; the last column is not padded.
fn table<const N: usize>(
    out: &mut impl Write,
    header: &[String; N],
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = [0usize; N];
    for row in std::iter::once(header).chain(rows.iter()) {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    for row in std::iter::once(header).chain(rows.iter()) {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            }
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}
