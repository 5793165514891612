//! Compose stacks without the compose binary: a project's containers are found by their compose labels and
//! started in dependency order (`com.docker.compose.depends_on`), stopped in the reverse order; a restart is
//! the stops, then the starts. Containers of one step are acted on together.

use std::collections::{BTreeMap, BTreeSet};

use bollard::models::ContainerSummary;
use futures_util::future::join_all;

use super::Client;
use crate::error::{Error, Result};
use crate::model::{Action, StackAction, StackReport, StackStep};

pub const PROJECT_LABEL: &str = "com.docker.compose.project";
pub const SERVICE_LABEL: &str = "com.docker.compose.service";
/// Compose v2 writes `service:condition:required` pairs, comma-separated (older versions `service:condition`).
pub const DEPENDS_ON_LABEL: &str = "com.docker.compose.depends_on";
/// One-off containers (`compose run`) are not part of the stack's services.
const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";

/// One container of a stack, as its labels describe it.
#[derive(Debug, Clone, PartialEq)]
pub struct Member {
    pub name: String,
    pub service: String,
    pub depends_on: Vec<String>,
}

/// The services a `depends_on` label names.
pub fn parse_depends_on(label: &str) -> Vec<String> {
    label
        .split(',')
        .filter_map(|item| item.split(':').next())
        .map(str::trim)
        .filter(|service| !service.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The stack's containers in start order, as steps: each step's services depend only on earlier steps.
/// Services caught in a dependency cycle come last, in name order, and are named in the second value.
pub fn start_order(members: &[Member]) -> (Vec<Vec<String>>, Vec<String>) {
    let services: BTreeSet<&str> = members.iter().map(|m| m.service.as_str()).collect();
    // Dependencies on services that have no container here (not created, another project) are ignored.
    let needs: BTreeMap<&str, BTreeSet<&str>> = services
        .iter()
        .map(|service| {
            let deps = members
                .iter()
                .filter(|m| m.service == *service)
                .flat_map(|m| m.depends_on.iter())
                .map(String::as_str)
                .filter(|dep| services.contains(dep) && dep != service)
                .collect();
            (*service, deps)
        })
        .collect();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    let mut levels: Vec<Vec<&str>> = Vec::new();
    loop {
        let ready: Vec<&str> = needs
            .iter()
            .filter(|(service, deps)| !placed.contains(*service) && deps.is_subset(&placed))
            .map(|(service, _)| *service)
            .collect();
        if ready.is_empty() {
            break;
        }
        placed.extend(ready.iter().copied());
        levels.push(ready);
    }
    let cycle: Vec<String> = services
        .iter()
        .filter(|s| !placed.contains(*s))
        .map(|s| (*s).to_owned())
        .collect();
    if !cycle.is_empty() {
        levels.push(cycle.iter().map(String::as_str).collect());
    }
    let steps = levels
        .into_iter()
        .map(|level| {
            let mut names: Vec<String> = members
                .iter()
                .filter(|m| level.contains(&m.service.as_str()))
                .map(|m| m.name.clone())
                .collect();
            names.sort();
            names
        })
        .collect();
    (steps, cycle)
}

/// The steps of an action: starts in dependency order, stops in reverse, a restart both.
pub fn plan(action: StackAction, start: &[Vec<String>]) -> Vec<StackStep> {
    let step = |action: &str, containers: &Vec<String>| StackStep {
        action: action.to_owned(),
        containers: containers.clone(),
    };
    let starts = start.iter().map(|names| step("start", names));
    let stops = start.iter().rev().map(|names| step("stop", names));
    match action {
        StackAction::Start => starts.collect(),
        StackAction::Stop => stops.collect(),
        StackAction::Restart => stops.chain(starts).collect(),
    }
}

fn member(summary: &ContainerSummary) -> Option<Member> {
    let labels = summary.labels.as_ref()?;
    if labels
        .get(ONEOFF_LABEL)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
    {
        return None;
    }
    let name = summary
        .names
        .as_deref()
        .and_then(<[String]>::first)
        .map(|n| n.trim_start_matches('/').to_owned())?;
    Some(Member {
        service: labels
            .get(SERVICE_LABEL)
            .cloned()
            .unwrap_or_else(|| name.clone()),
        depends_on: labels
            .get(DEPENDS_ON_LABEL)
            .map(|l| parse_depends_on(l))
            .unwrap_or_default(),
        name,
    })
}

impl Client {
    /// The containers of a compose project on this engine (an error naming the project when there are none).
    pub async fn stack_members(&self, project: &str) -> Result<Vec<Member>> {
        let filter = format!("{PROJECT_LABEL}={project}");
        let filters = std::collections::HashMap::from([("label", vec![filter.as_str()])]);
        let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
            .all(true)
            .filters(&filters)
            .build();
        let listed = self
            .docker
            .list_containers(Some(options))
            .await
            .map_err(|err| {
                Error::Docker(format!("listing the stack's containers failed: {err}"))
            })?;
        let members: Vec<Member> = listed.iter().filter_map(member).collect();
        if members.is_empty() {
            return Err(Error::Other(format!(
                "no compose project '{project}' on {} (its containers carry the label {PROJECT_LABEL}; see \
                 `docktray status`)",
                self.host
            )));
        }
        Ok(members)
    }

    /// What a stack action would do, step by step, without doing it (for the confirmation).
    pub async fn stack_plan(&self, project: &str, action: StackAction) -> Result<StackReport> {
        let members = self.stack_members(project).await?;
        let (order, cycle) = start_order(&members);
        Ok(StackReport {
            host: self.host.clone(),
            project: project.to_owned(),
            action,
            steps: plan(action, &order),
            failed: Vec::new(),
            cycle,
        })
    }

    /// Starts, stops or restarts a compose project's containers in dependency order. Every step runs; what
    /// Docker refused is listed in `failed` (a container already in the wanted state is no failure).
    pub async fn stack(&self, project: &str, action: StackAction) -> Result<StackReport> {
        let mut report = self.stack_plan(project, action).await?;
        for step in &report.steps {
            let action = if step.action == "start" {
                Action::Start
            } else {
                Action::Stop
            };
            let results = join_all(step.containers.iter().map(|name| self.act(name, action))).await;
            for (name, result) in step.containers.iter().zip(results) {
                if let Err(err) = result {
                    report.failed.push((name.clone(), err.to_string()));
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, service: &str, depends_on: &str) -> Member {
        Member {
            name: name.into(),
            service: service.into(),
            depends_on: parse_depends_on(depends_on),
        }
    }

    #[test]
    fn depends_on_labels_of_each_compose_version_are_read() {
        assert_eq!(
            parse_depends_on("db:service_healthy:true,cache:service_started:false"),
            vec!["db", "cache"]
        );
        assert_eq!(parse_depends_on("db:service_started"), vec!["db"]);
        assert!(parse_depends_on("").is_empty());
    }

    #[test]
    fn dependencies_start_first_and_stop_last() {
        let members = [
            member("shop-proxy-1", "proxy", "web:service_started:false"),
            member(
                "shop-web-1",
                "web",
                "db:service_started:false,cache:service_started:false",
            ),
            member(
                "shop-web-2",
                "web",
                "db:service_started:false,cache:service_started:false",
            ),
            member("shop-db-1", "db", ""),
            member("shop-cache-1", "cache", "missing:service_started:false"),
        ];
        let (order, cycle) = start_order(&members);
        assert_eq!(
            order,
            vec![
                vec!["shop-cache-1", "shop-db-1"],
                vec!["shop-web-1", "shop-web-2"],
                vec!["shop-proxy-1"]
            ]
        );
        assert!(cycle.is_empty());
        let stops: Vec<Vec<String>> = plan(StackAction::Stop, &order)
            .into_iter()
            .map(|s| s.containers)
            .collect();
        assert_eq!(stops[0], vec!["shop-proxy-1"]);
        assert_eq!(stops[2], vec!["shop-cache-1", "shop-db-1"]);
        let restart = plan(StackAction::Restart, &order);
        assert_eq!(restart.len(), 6);
        assert_eq!(restart[0].action, "stop");
        assert_eq!(restart[3].action, "start");
        assert_eq!(restart[3].containers, vec!["shop-cache-1", "shop-db-1"]);
    }

    #[test]
    fn a_cycle_comes_last_and_is_named() {
        let members = [
            member("a", "a", "b"),
            member("b", "b", "a"),
            member("c", "c", ""),
        ];
        let (order, cycle) = start_order(&members);
        assert_eq!(order, vec![vec!["c"], vec!["a", "b"]]);
        assert_eq!(cycle, vec!["a", "b"]);
    }
}
