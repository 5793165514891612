//! Engine events for the timeline: which of Docker's events are kept (containers, images, volumes, networks),
//! how one becomes an [`EngineEvent`] (exit code, signal, OOM), and the back-fill of the events the engine
//! kept in its buffer from while nobody was watching.

use std::collections::{HashMap, HashSet};

use bollard::models::{EventMessage, EventMessageTypeEnum};
use bollard::query_parameters::EventsOptionsBuilder;
use chrono::{DateTime, TimeZone, Utc};
use futures_util::StreamExt;

use super::Client;
use crate::model::{EngineEvent, EventScope};

/// Container actions the timeline keeps (not exec_*, attach, resize, top...: they are noise).
const CONTAINER_ACTIONS: &[&str] = &[
    "create",
    "start",
    "die",
    "oom",
    "kill",
    "stop",
    "restart",
    "pause",
    "unpause",
    "health_status",
    "destroy",
    "rename",
    "update",
];
const IMAGE_ACTIONS: &[&str] = &[
    "pull", "push", "delete", "untag", "tag", "import", "load", "save",
];
const VOLUME_ACTIONS: &[&str] = &["create", "destroy", "prune"];
/// Not connect/disconnect: every container start and stop does that.
const NETWORK_ACTIONS: &[&str] = &["create", "destroy", "remove", "prune"];

/// The event types the engine's stream is asked for.
pub(super) const EVENT_TYPES: [&str; 4] = ["container", "image", "volume", "network"];

/// The events stream's options: every type the timeline keeps, from `since` until `until` when given (Docker's
/// `<seconds>.<nanoseconds>` form).
pub(super) fn options(
    since: Option<DateTime<Utc>>,
    until: Option<DateTime<Utc>>,
) -> bollard::query_parameters::EventsOptions {
    let filters = HashMap::from([("type", EVENT_TYPES.to_vec())]);
    let mut builder = EventsOptionsBuilder::new().filters(&filters);
    if let Some(since) = since {
        builder = builder.since(&docker_time(since));
    }
    if let Some(until) = until {
        builder = builder.until(&docker_time(until));
    }
    builder.build()
}

fn docker_time(at: DateTime<Utc>) -> String {
    format!("{}.{:09}", at.timestamp(), at.timestamp_subsec_nanos())
}

/// The event's time, to the nanosecond when the engine gives it.
pub(super) fn event_time(event: &EventMessage) -> DateTime<Utc> {
    event
        .time_nano
        .map(|nanos| Utc.timestamp_nanos(nanos))
        .or_else(|| {
            event
                .time
                .and_then(|secs| Utc.timestamp_opt(secs, 0).single())
        })
        .unwrap_or_else(Utc::now)
}

/// The timeline entry of one Docker event, or `None` for the events it does not keep. `oom` is left unset for
/// dies: the caller knows (from an `oom` event before it, or from the container's `State.OOMKilled`).
pub(super) fn timeline_event(host: &str, event: &EventMessage) -> Option<EngineEvent> {
    let scope = match event.typ? {
        EventMessageTypeEnum::CONTAINER => EventScope::Container,
        EventMessageTypeEnum::IMAGE => EventScope::Image,
        EventMessageTypeEnum::VOLUME => EventScope::Volume,
        EventMessageTypeEnum::NETWORK => EventScope::Network,
        _ => return None,
    };
    let full_action = event.action.as_deref().unwrap_or_default();
    let (action, detail) = match full_action.split_once(':') {
        Some((action, detail)) => (action.trim(), Some(detail.trim())),
        None => (full_action.trim(), None),
    };
    let kept = match scope {
        EventScope::Container => CONTAINER_ACTIONS,
        EventScope::Image => IMAGE_ACTIONS,
        EventScope::Volume => VOLUME_ACTIONS,
        EventScope::Network => NETWORK_ACTIONS,
    };
    if !kept.contains(&action) {
        return None;
    }
    let actor = event.actor.as_ref()?;
    let id = actor.id.clone().unwrap_or_default();
    let empty = HashMap::new();
    let attributes = actor.attributes.as_ref().unwrap_or(&empty);
    // A volume's id is its name (no `name` attribute); other ids are hashes, shown short as Docker does.
    let name = attributes
        .get("name")
        .cloned()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| match scope {
            EventScope::Volume => id.clone(),
            _ => id.chars().take(12).collect(),
        });
    Some(EngineEvent {
        at: event_time(event),
        host: host.to_owned(),
        scope,
        action: action.to_owned(),
        id,
        name: name.trim_start_matches('/').to_owned(),
        exit_code: attributes
            .get("exitCode")
            .and_then(|code| code.parse().ok()),
        signal: attributes
            .get("signal")
            .cloned()
            .filter(|_| action == "kill"),
        oom: None,
        health: detail
            .filter(|_| action == "health_status")
            .map(str::to_owned),
    })
}

/// Remembers which containers the OOM killer hit in their current run, so their `die` is marked.
#[derive(Debug, Default)]
pub(super) struct OomWatch {
    hit: HashSet<String>,
}

impl OomWatch {
    /// Marks a die (OOM when an `oom` event came before it in this run, or `inspected_oom` says so) and keeps
    /// track of runs. Returns the event as the timeline keeps it.
    pub(super) fn mark(&mut self, mut event: EngineEvent, inspected_oom: bool) -> EngineEvent {
        if event.scope != EventScope::Container {
            return event;
        }
        match event.action.as_str() {
            "oom" => {
                self.hit.insert(event.id.clone());
            }
            "die" => event.oom = Some(self.hit.remove(&event.id) || inspected_oom),
            "start" | "destroy" => {
                self.hit.remove(&event.id);
            }
            _ => {}
        }
        event
    }
}

/// The events the engine kept from `since` up to its current time (its own clock: a remote host's may differ
/// from ours). Dies are marked OOM from the `oom` events among them. Returns the engine's time the back-fill
/// reached.
pub(super) async fn backfill(
    client: &Client,
    since: DateTime<Utc>,
) -> Result<Vec<EngineEvent>, bollard::errors::Error> {
    let until = engine_now(client).await;
    if until <= since {
        return Ok(Vec::new());
    }
    let mut stream = client
        .docker
        .events(Some(options(Some(since), Some(until))));
    let mut watch = OomWatch::default();
    let mut events = Vec::new();
    while let Some(message) = stream.next().await {
        if let Some(event) = timeline_event(&client.host, &message?) {
            events.push(watch.mark(event, false));
        }
    }
    Ok(events)
}

/// The engine's clock (`docker info`'s SystemTime), or ours when it does not say.
async fn engine_now(client: &Client) -> DateTime<Utc> {
    client
        .docker
        .info()
        .await
        .ok()
        .and_then(|info| info.system_time)
        .and_then(|text| DateTime::parse_from_rfc3339(&text).ok())
        .map_or_else(Utc::now, |at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bollard::models::EventActor;

    fn message(typ: EventMessageTypeEnum, action: &str, attrs: &[(&str, &str)]) -> EventMessage {
        EventMessage {
            typ: Some(typ),
            action: Some(action.to_owned()),
            actor: Some(EventActor {
                id: Some("abc123".to_owned()),
                attributes: Some(
                    attrs
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                        .collect(),
                ),
            }),
            scope: None,
            time: Some(1_700_000_000),
            time_nano: Some(1_700_000_000_123_456_789),
        }
    }

    #[test]
    fn a_die_keeps_its_exit_code_and_a_kill_its_signal() {
        let die = timeline_event(
            "local",
            &message(
                EventMessageTypeEnum::CONTAINER,
                "die",
                &[("name", "web"), ("exitCode", "137")],
            ),
        )
        .unwrap();
        assert_eq!(die.exit_code, Some(137));
        assert_eq!(die.name, "web");
        assert_eq!(die.at.timestamp_subsec_nanos(), 123_456_789);
        let kill = timeline_event(
            "local",
            &message(
                EventMessageTypeEnum::CONTAINER,
                "kill",
                &[("name", "web"), ("signal", "9")],
            ),
        )
        .unwrap();
        assert_eq!(kill.signal.as_deref(), Some("9"));
        assert_eq!(kill.summary(), "sent signal 9");
    }

    #[test]
    fn noise_is_left_out_and_other_scopes_are_named() {
        for (typ, action) in [
            (EventMessageTypeEnum::CONTAINER, "exec_start: sh -c true"),
            (EventMessageTypeEnum::NETWORK, "connect"),
            (EventMessageTypeEnum::VOLUME, "mount"),
        ] {
            assert!(timeline_event("local", &message(typ, action, &[])).is_none());
        }
        let pull = timeline_event(
            "h1",
            &message(
                EventMessageTypeEnum::IMAGE,
                "pull",
                &[("name", "busybox:latest")],
            ),
        )
        .unwrap();
        assert_eq!(pull.kind(), "image_pull");
        assert_eq!(pull.host, "h1");
        let health = timeline_event(
            "local",
            &message(
                EventMessageTypeEnum::CONTAINER,
                "health_status: unhealthy",
                &[],
            ),
        )
        .unwrap();
        assert_eq!(health.kind(), "health_status");
        assert_eq!(health.health.as_deref(), Some("unhealthy"));
    }

    #[test]
    fn only_a_die_after_an_oom_is_out_of_memory() {
        let event = |action: &str, code: Option<&str>| {
            let mut attrs = vec![("name", "w")];
            if let Some(code) = code {
                attrs.push(("exitCode", code));
            }
            timeline_event(
                "local",
                &message(EventMessageTypeEnum::CONTAINER, action, &attrs),
            )
            .unwrap()
        };
        let mut watch = OomWatch::default();
        watch.mark(event("kill", None), false);
        let killed = watch.mark(event("die", Some("137")), false);
        assert_eq!(killed.oom, Some(false));
        assert_eq!(killed.summary(), "died with exit code 137");
        watch.mark(event("start", None), false);
        watch.mark(event("oom", None), false);
        let oom = watch.mark(event("die", Some("137")), false);
        assert_eq!(oom.oom, Some(true));
        assert_eq!(oom.summary(), "died with exit code 137 (out of memory)");
        // The next run starts clean.
        let next = watch.mark(event("die", Some("3")), false);
        assert_eq!(next.oom, Some(false));
        // The container's own record counts too.
        assert_eq!(watch.mark(event("die", Some("137")), true).oom, Some(true));
    }
}
