//! The timeline's retention: engine events go after `event_retention`, audit entries never before the samples
//! of their time do (whatever `audit_retention` says); an event recorded twice (a back-filled copy) is one row.

use super::*;
use docktray::history::TimelineQuery;
use docktray::model::{AuditEntry, AuditSource, EngineEvent, EventScope};

fn event(at: DateTime<Utc>, action: &str) -> EngineEvent {
    EngineEvent {
        at,
        host: "local".to_owned(),
        scope: EventScope::Container,
        action: action.to_owned(),
        id: WEB1.to_owned(),
        name: "web-1".to_owned(),
        exit_code: (action == "die").then_some(3),
        signal: None,
        oom: (action == "die").then_some(false),
        health: None,
    }
}

fn audit(at: DateTime<Utc>, action: &str) -> AuditEntry {
    AuditEntry {
        at,
        source: AuditSource::Cli,
        actor: None,
        host: "local".to_owned(),
        container: Some("web-1".to_owned()),
        target: "web-1".to_owned(),
        action: action.to_owned(),
        ok: true,
        error: None,
    }
}

#[test]
fn audit_entries_outlive_their_own_retention_while_samples_of_their_time_are_kept() {
    let dir = tempfile::tempdir().unwrap();
    let settings = HistorySettings {
        raw_retention: Duration::from_secs(3600),
        rollup_retention: Duration::from_secs(3 * 3600),
        event_retention: Duration::from_secs(3600),
        audit_retention: Duration::from_secs(3600),
        ..HistorySettings::default()
    };
    let history = History::open_tuned(&db_path(&dir), &settings, fast()).unwrap();
    let now = base_time();
    let hours = |h: i64| now - TimeDelta::hours(h);
    history.record_events(&[event(hours(2), "die"), event(now, "start")]);
    // The engine's buffer read again after a reconnection: the same event is not stored twice.
    history.record_events(&[event(now, "start")]);
    history.record_audit(&audit(hours(4), "stop"));
    history.record_audit(&audit(hours(2), "restart"));
    history.record_audit(&audit(now - TimeDelta::minutes(1), "start"));
    history.flush().unwrap();

    let report = history.prune(now).unwrap();
    assert_eq!((report.events, report.audit_entries), (1, 1));
    let rows = history.timeline(&TimelineQuery::default()).unwrap().rows;
    let kept: Vec<(&str, Option<&str>)> = rows
        .iter()
        .map(|r| (r.kind.as_str(), r.action.as_deref()))
        .collect();
    // Events older than 1 h went; the audit entry of 2 h ago stays (minute samples are kept 3 h), the one of
    // 4 h ago went with the samples of its time.
    assert_eq!(
        kept,
        [
            ("audit", Some("restart")),
            ("audit", Some("start")),
            ("start", None)
        ]
    );
}
