//! `docktray notify ...`: the notification channels beside the desktop (webhooks, ntfy, e-mail). List them, send
//! a test message through one, store or remove a channel's secret in the OS keychain (read without echo, or
//! from stdin when it is not a terminal; never printed).

use std::io::{IsTerminal, Read, Write};

use anyhow::{anyhow, Context};
use clap::Subcommand;
use docktray::sinks::channels::{self, secrets, ChannelError, Sender};
use docktray::Config;

use crate::render::clean;
use crate::{usage, Failure};

#[derive(Subcommand, Debug)]
pub enum NotifyCommand {
    /// List the configured channels, where they send and whether their secret is stored.
    List,
    /// Send a test message through CHANNEL now: `webhook:NAME` (or the webhook's NAME), `ntfy` or `email`.
    Test { channel: String },
    /// Store CHANNEL's secret in the OS keychain: a webhook's signing key, ntfy's access token, the SMTP
    /// password (read without echo, or from stdin when it is not a terminal).
    Secret { channel: String },
    /// Remove CHANNEL's secret from the OS keychain.
    Forget { channel: String },
}

pub async fn run(config: &Config, command: NotifyCommand) -> Result<(), Failure> {
    match command {
        NotifyCommand::List => list(config).await,
        NotifyCommand::Test { channel } => test(config, &channel).await,
        NotifyCommand::Secret { channel } => store(config, &channel).await,
        NotifyCommand::Forget { channel } => forget(config, &channel).await,
    }
}

/// The configured channel `name` names (`ops` finds `webhook:ops`).
fn channel(config: &Config, name: &str) -> Result<Sender, Failure> {
    let senders = channels::configured(&config.notifications);
    senders
        .iter()
        .find(|s| s.name() == name || s.name() == format!("webhook:{name}"))
        .cloned()
        .ok_or_else(|| {
            let known: Vec<String> = senders.iter().map(Sender::name).collect();
            usage(anyhow!(
                "no notification channel named {name}: {}",
                if known.is_empty() {
                    "none is configured (see [notifications] in docs/notifications.md)".to_owned()
                } else {
                    format!("the configured ones are {}", known.join(", "))
                }
            ))
        })
}

/// Whether the channel uses a secret at all.
fn needs_secret(sender: &Sender) -> bool {
    match sender {
        Sender::Webhook(hook) => hook.sign,
        Sender::Ntfy(ntfy) => ntfy.token,
        Sender::Email(email) => !email.username.trim().is_empty(),
    }
}

async fn list(config: &Config) -> Result<(), Failure> {
    let senders = channels::configured(&config.notifications);
    let mut out = std::io::stdout().lock();
    if senders.is_empty() {
        writeln!(
            out,
            "No notification channels besides the desktop are configured."
        )
        .context("writing to stdout")?;
        return Ok(());
    }
    for sender in senders {
        let secret = if needs_secret(&sender) {
            match secrets::is_set(&sender.name()).await {
                Ok(true) => "secret stored".to_owned(),
                Ok(false) => format!("NO SECRET (docktray notify secret {})", sender.name()),
                Err(err) => format!("secret unknown: {err}"),
            }
        } else {
            "no secret needed".to_owned()
        };
        writeln!(
            out,
            "{:<20} {:<8} {}  ({secret})",
            clean(&sender.name()),
            sender.kind(),
            clean(&sender.destination())
        )
        .context("writing to stdout")?;
    }
    Ok(())
}

async fn test(config: &Config, name: &str) -> Result<(), Failure> {
    let sender = channel(config, name)?;
    match channels::send_test(&config.notifications, &sender.name()).await {
        Ok(destination) => {
            println!(
                "Sent a test message through {} to {}.",
                sender.name(),
                clean(&destination)
            );
            Ok(())
        }
        Err(ChannelError::Unknown { .. }) => Err(usage(anyhow!("no channel named {name}"))),
        Err(err) => Err(anyhow!("the test message was not delivered: {err}").into()),
    }
}

fn read_secret(name: &str) -> Result<secrets::Secret, Failure> {
    let text = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(format!("Secret for {name} (not shown): "))
            .context("reading the secret from the terminal")?
    } else {
        let mut text = String::new();
        std::io::stdin()
            .lock()
            .read_to_string(&mut text)
            .context("reading the secret from stdin")?;
        text
    };
    secrets::Secret::new(&text).ok_or_else(|| usage(anyhow!("the secret is empty: nothing stored")))
}

async fn store(config: &Config, name: &str) -> Result<(), Failure> {
    let sender = channel(config, name)?;
    let secret = read_secret(&sender.name())?;
    secrets::store(&sender.name(), &secret)
        .await
        .map_err(|err| anyhow!("{err}"))?;
    println!("Stored the secret of {} in the OS keychain.", sender.name());
    if !needs_secret(&sender) {
        println!(
            "Note: {} does not use it yet ({}).",
            sender.name(),
            match sender {
                Sender::Webhook(_) => "set `sign = true` on the webhook",
                Sender::Ntfy(_) => "set `token = true` under [notifications.ntfy]",
                Sender::Email(_) => "set `username` under [notifications.email]",
            }
        );
    }
    Ok(())
}

async fn forget(config: &Config, name: &str) -> Result<(), Failure> {
    // A channel already removed from the settings may still have a secret: take the name as given.
    let name = match channel(config, name) {
        Ok(sender) => sender.name(),
        Err(_) => name.to_owned(),
    };
    let removed = secrets::remove(&name)
        .await
        .map_err(|err| anyhow!("{err}"))?;
    if removed {
        println!("Removed the secret of {name} from the OS keychain.");
    } else {
        println!("The OS keychain had no secret for {name}.");
    }
    Ok(())
}
