//! `docktray stack start|stop|restart PROJECT [--host H] [--yes]`: a compose project's containers acted on in
//! dependency order (from their compose labels; no compose binary needed). Stop and restart ask first.

use anyhow::anyhow;
use clap::{Args, Subcommand};
use docktray::model::{StackAction, StackReport, LOCAL_HOST};
use docktray::Config;

use crate::hosts::confirm;
use crate::render::clean;
use crate::workbench::Reach;
use crate::Failure;

#[derive(Subcommand, Debug)]
pub enum StackCommand {
    /// Start a project's containers, dependencies first.
    Start(StackArgs),
    /// Stop a project's containers, dependents first (asks first).
    Stop(StackArgs),
    /// Stop, then start a project's containers in dependency order (asks first).
    Restart(StackArgs),
}

#[derive(Args, Debug)]
pub struct StackArgs {
    /// The compose project (`com.docker.compose.project` label).
    project: String,
    /// The host it runs on; needed only when it runs on several.
    #[arg(long, value_name = "HOST")]
    host: Option<String>,
    /// Do not ask.
    #[arg(short, long)]
    yes: bool,
}

pub async fn run(config: &Config, command: StackCommand) -> Result<(), Failure> {
    let (action, args) = match command {
        StackCommand::Start(args) => (StackAction::Start, args),
        StackCommand::Stop(args) => (StackAction::Stop, args),
        StackCommand::Restart(args) => (StackAction::Restart, args),
    };
    let reach = Reach::open(config).await?;
    let outcome = act(config, &reach, action, &args).await;
    reach.close().await;
    outcome
}

async fn act(
    config: &Config,
    reach: &Reach,
    action: StackAction,
    args: &StackArgs,
) -> Result<(), Failure> {
    let host = match &args.host {
        Some(host) => host.clone(),
        None => find_host(reach, &args.project).await?,
    };
    let client = reach.client(&host)?;
    let plan = client
        .stack_plan(&args.project, action)
        .await
        .map_err(|err| Failure::from(anyhow!(err)))?;
    if action != StackAction::Start && !args.yes {
        let question = format!(
            "{} compose project {} on {}: {}?",
            capitalised(action.as_str()),
            clean(&args.project),
            clean(&host),
            describe(&plan)
        );
        if !confirm(
            &question,
            "not acting on the stack without confirmation: run it in a terminal, or pass --yes",
        )? {
            println!("Nothing done.");
            return Ok(());
        }
    }
    let result = client.stack(&args.project, action).await;
    let audit = crate::audit::AuditLog::open(config);
    let outcome = match &result {
        Ok(report) if !report.failed.is_empty() => Err(report
            .failed
            .iter()
            .map(|(name, message)| format!("{name}: {message}"))
            .collect::<Vec<_>>()
            .join("; ")),
        Ok(_) => Ok(()),
        Err(err) => Err(err.to_string()),
    };
    audit.record(
        &host,
        docktray::model::AuditTarget::object(&args.project),
        &format!("stack_{}", action.as_str()),
        &outcome,
    );
    audit.close();
    let report = result.map_err(|err| Failure::from(anyhow!(err)))?;
    for step in &report.steps {
        for name in &step.containers {
            let failed = report.failed.iter().find(|(n, _)| n == name);
            match failed {
                Some((_, message)) => {
                    eprintln!("docktray: {} {}: {message}", step.action, clean(name))
                }
                None => println!("{:<5}  {}", step.action, clean(name)),
            }
        }
    }
    if !report.cycle.is_empty() {
        eprintln!(
            "docktray: the dependencies of {} form a cycle: they were taken last, in name order",
            report.cycle.join(", ")
        );
    }
    if report.failed.is_empty() {
        Ok(())
    } else {
        Err(anyhow!(
            "{} of compose project {} on {host}: {} container(s) failed",
            action.as_str(),
            args.project,
            report.failed.len()
        )
        .into())
    }
}

/// The only host with containers of the project (asking each watched host).
async fn find_host(reach: &Reach, project: &str) -> Result<String, Failure> {
    let mut found = Vec::new();
    for host in reach.hosts(None)? {
        if let Ok(client) = reach.client(&host) {
            if client.stack_members(project).await.is_ok() {
                found.push(host);
            }
        }
    }
    match found.as_slice() {
        [] => Ok(LOCAL_HOST.to_owned()),
        [one] => Ok(one.clone()),
        many => Err(crate::usage(anyhow!(
            "compose project {project} runs on several hosts ({}): name one with --host",
            many.join(", ")
        ))),
    }
}

/// "3 containers: proxy, then web-1 and web-2, then db".
fn describe(plan: &StackReport) -> String {
    let count: usize = plan
        .steps
        .iter()
        .filter(|s| s.action == plan.steps.first().map_or("", |f| f.action.as_str()))
        .map(|s| s.containers.len())
        .sum();
    let steps: Vec<String> = plan
        .steps
        .iter()
        .map(|s| format!("{} {}", s.action, clean(&s.containers.join(" and "))))
        .collect();
    format!("{count} container(s): {}", steps.join(", then "))
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
