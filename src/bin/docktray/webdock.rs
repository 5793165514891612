//! `docktray webdock ...`: store or remove an account's token in the OS keychain, and list what a token sees.
//! The token is read without echo (or from stdin when it is not a terminal) and never printed.

use std::io::{IsTerminal, Read, Write};

use anyhow::{anyhow, Context};
use clap::Subcommand;
use docktray::config::{WebdockAccount, WEBDOCK_API};
use docktray::sources::webdock::client::{budget_of, clear_cache};
use docktray::sources::webdock::error::local_hh_mm;
use docktray::sources::webdock::{token, Client, StatusFilter, Token};
use docktray::Config;

use crate::render::clean;
use crate::{usage, Failure};

#[derive(Subcommand, Debug)]
pub enum WebdockCommand {
    /// Check a Webdock API token (GET /ping and /servers) and store it in the OS keychain as account NAME.
    /// The token is read without echo, or from stdin when stdin is not a terminal.
    Login {
        /// The account name, as in the config's [[webdock]] name.
        name: String,
    },
    /// Remove the token of account NAME from the OS keychain.
    Logout { name: String },
    /// List the servers each configured account's token sees, and its rate-limit budget.
    Servers {
        /// Only this account.
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: &Config, command: WebdockCommand) -> Result<(), Failure> {
    match command {
        WebdockCommand::Login { name } => login(config, &name).await,
        WebdockCommand::Logout { name } => logout(&name).await,
        WebdockCommand::Servers { account, json } => servers(config, account, json).await,
    }
}

/// The configured account called `name`, or defaults for one not (yet) in the config.
fn account(config: &Config, name: &str) -> Result<(WebdockAccount, bool), Failure> {
    if let Some(found) = config.webdock.iter().find(|a| a.name == name) {
        return Ok((found.clone(), true));
    }
    let valid = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        return Err(usage(anyhow!(
            "'{name}' is not a usable account name: use letters, digits, '-' or '_' (at most 64), such as \"work\""
        )));
    }
    let mut parsed = Config::parse(
        &format!("[[webdock]]\nname = \"{name}\"\n"),
        std::path::Path::new("(defaults)"),
    )
    .map_err(|err| usage(anyhow!(err)))?;
    let account = parsed
        .webdock
        .pop()
        .ok_or_else(|| anyhow!("no default account"))?;
    Ok((account, false))
}

fn read_token(name: &str) -> Result<Token, Failure> {
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Webdock API token for '{name}' (not shown): "))
            .context("reading the token from the terminal")?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .context("reading the token from stdin")?;
        text
    };
    Token::new(&text).ok_or_else(|| {
        usage(anyhow!(
            "no token given: paste the API token from the Webdock dashboard (Account > API & Integrations)"
        ))
    })
}

async fn login(config: &Config, name: &str) -> Result<(), Failure> {
    let (account, configured) = account(config, name)?;
    let token = read_token(name)?;
    // Checked against Webdock now: the shared cache may hold replies read with another token.
    let client = Client::for_account(&account, &token)
        .map_err(|err| anyhow!(err))?
        .uncached();
    client.ping().await.map_err(|err| anyhow!(err))?;
    let servers = client
        .servers(StatusFilter::All)
        .await
        .map_err(|err| anyhow!(err))?;
    token::store(name, &token)
        .await
        .map_err(|err| anyhow!(err))?;
    clear_cache(name);
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "Token for Webdock account '{name}' checked ({} server{} visible) and stored in the OS keychain.",
        servers.len(),
        if servers.len() == 1 { "" } else { "s" }
    )
    .context("writing to stdout")?;
    if !configured {
        let base = if account.base_url == WEBDOCK_API {
            String::new()
        } else {
            format!("base_url = \"{}\"\n", account.base_url)
        };
        writeln!(
            out,
            "To watch its servers, add to your config file:\n\n[[webdock]]\nname = \"{name}\"\nservers = \"all\"\n{base}"
        )
        .context("writing to stdout")?;
    }
    Ok(())
}

async fn logout(name: &str) -> Result<(), Failure> {
    let removed = token::remove(name).await.map_err(|err| anyhow!(err))?;
    clear_cache(name);
    let mut out = std::io::stdout().lock();
    if removed {
        writeln!(
            out,
            "Token for Webdock account '{name}' removed from the OS keychain."
        )
    } else {
        writeln!(
            out,
            "No token for Webdock account '{name}' in the OS keychain: nothing to remove."
        )
    }
    .context("writing to stdout")?;
    if token::from_env(name).ok().flatten().is_some() {
        eprintln!(
            "docktray: note: {} still supplies a token for '{name}'",
            token::env_name(name)
        );
    }
    Ok(())
}

#[derive(serde::Serialize)]
struct AccountServers {
    account: String,
    error: Option<String>,
    rate_limit: docktray::model::RateBudget,
    servers: Vec<ServerRow>,
}

#[derive(serde::Serialize)]
struct ServerRow {
    slug: String,
    name: Option<String>,
    status: Option<String>,
    location: Option<String>,
    profile: Option<String>,
    ipv4: Option<String>,
    watched: bool,
}

async fn servers(config: &Config, only: Option<String>, json: bool) -> Result<(), Failure> {
    let accounts: Vec<WebdockAccount> = match &only {
        Some(name) => vec![account(config, name)?.0],
        None => config.webdock.clone(),
    };
    if accounts.is_empty() {
        return Err(usage(anyhow!(
            "no Webdock account in the config: add a [[webdock]] section with a name (see README), \
             or give --account NAME after `docktray webdock login NAME`"
        )));
    }
    let mut listed = Vec::new();
    let mut failed = false;
    for account in &accounts {
        let result = async {
            let (token, _) = token::resolve_account(account).await?;
            let client = Client::for_account(account, &token)?;
            client.servers(StatusFilter::All).await
        }
        .await;
        let (servers, error) = match result {
            Ok(servers) => (servers, None),
            Err(err) => {
                failed = true;
                (Vec::new(), Some(err.to_string()))
            }
        };
        listed.push(AccountServers {
            account: account.name.clone(),
            error,
            rate_limit: budget_of(&account.base_url, &account.name),
            servers: servers
                .into_iter()
                .map(|s| ServerRow {
                    watched: account.servers.includes(&s.slug),
                    slug: s.slug,
                    name: s.name,
                    status: s.status,
                    location: s.location,
                    profile: s.profile,
                    ipv4: s.ipv4,
                })
                .collect(),
        });
    }
    let mut out = std::io::stdout().lock();
    if json {
        let text = serde_json::to_string_pretty(&listed).context("formatting JSON")?;
        writeln!(out, "{text}").context("writing to stdout")?;
    } else {
        for entry in &listed {
            writeln!(
                out,
                "ACCOUNT {}  ({})",
                entry.account,
                budget_text(&entry.rate_limit)
            )
            .context("writing to stdout")?;
            if let Some(error) = &entry.error {
                writeln!(out, "  {error}").context("writing to stdout")?;
                continue;
            }
            let dash = || "-".to_owned();
            for s in &entry.servers {
                writeln!(
                    out,
                    "  {:<20} {:<24} {:<12} {:<6} {:<22} {:<15} {}",
                    clean(&s.slug),
                    clean(&s.name.clone().unwrap_or_else(dash)),
                    clean(&s.status.clone().unwrap_or_else(dash)),
                    clean(&s.location.clone().unwrap_or_else(dash)),
                    clean(&s.profile.clone().unwrap_or_else(dash)),
                    clean(&s.ipv4.clone().unwrap_or_else(dash)),
                    if s.watched { "watched" } else { "not watched" }
                )
                .context("writing to stdout")?;
            }
        }
    }
    if failed {
        return Err(anyhow!("some Webdock accounts could not be listed").into());
    }
    Ok(())
}

/// "4990/5000 requests left, resets 14:05" for tables.
pub fn budget_text(budget: &docktray::model::RateBudget) -> String {
    let mut text = match (budget.remaining, budget.limit) {
        (Some(remaining), Some(limit)) => format!("{remaining}/{limit} requests left"),
        (Some(remaining), None) => format!("{remaining} requests left"),
        _ => "rate limit not known yet".to_owned(),
    };
    if let Some(until) = budget.blocked_until.filter(|u| *u > chrono::Utc::now()) {
        text.push_str(&format!(", rate limited until {}", local_hh_mm(until)));
    } else if let Some(reset) = budget.reset_at {
        text.push_str(&format!(", resets {}", local_hh_mm(reset)));
    }
    text
}
