//! Unit tests of `logs`.

use bytes::Bytes;

use super::*;

fn collect(frames: Vec<LogOutput>) -> Vec<LogLine> {
    let mut assembler = LineAssembler::default();
    let mut lines = Vec::new();
    for frame in frames {
        assembler.push(frame, &mut |line| lines.push(line));
    }
    assembler.flush(&mut |line| lines.push(line));
    lines
}

#[test]
fn frames_become_lines_with_timestamps() {
    let lines = collect(vec![
        LogOutput::StdOut {
            message: Bytes::from_static(b"2026-11-23T07:00:00.000000001Z hello\n"),
        },
        LogOutput::StdErr {
            message: Bytes::from_static(b"2026-11-23T07:00:00.5Z \x1b[31moops\x1b[0m\r\n"),
        },
    ]);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0].text, "hello");
    assert_eq!(lines[0].stream, LogStream::Stdout);
    assert_eq!(
        lines[0].timestamp.map(|t| t.timestamp_subsec_nanos()),
        Some(1)
    );
    assert_eq!(lines[1].text, "\u{1b}[31moops\u{1b}[0m");
    assert_eq!(lines[1].plain, "oops");
    assert_eq!(lines[1].stream, LogStream::Stderr);
}

#[test]
fn split_long_lines_are_joined_and_chunks_split() {
    let lines = collect(vec![
        LogOutput::StdOut {
            message: Bytes::from_static(b"2026-11-23T07:00:00Z part one "),
        },
        LogOutput::StdOut {
            message: Bytes::from_static(
                b"2026-11-23T07:00:00Z part two\n2026-11-23T07:00:01Z next\nlast",
            ),
        },
    ]);
    let texts: Vec<&str> = lines.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["part one part two", "next", "last"]);
}

#[test]
fn invalid_utf8_is_replaced() {
    let line = parse_line(b"2026-11-23T07:00:00Z caf\xe9 \xff", LogStream::Stdout);
    assert_eq!(line.text, "caf\u{fffd} \u{fffd}");
}

#[test]
fn ring_is_bounded() {
    let mut ring = VecDeque::new();
    for n in 0..10 {
        push_ring(
            &mut ring,
            parse_line(format!("{n}").as_bytes(), LogStream::Stdout),
            3,
        );
    }
    let texts: Vec<&str> = ring.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["7", "8", "9"]);
}

#[test]
fn query_filters_streams_and_time() {
    let line = parse_line(b"2026-11-23T07:00:00Z x", LogStream::Stderr);
    assert!(LogQuery::default().matches(&line));
    assert!(!LogQuery {
        stderr: false,
        ..LogQuery::default()
    }
    .matches(&line));
    let later = DateTime::parse_from_rfc3339("2026-11-23T08:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .ok();
    assert!(!LogQuery {
        since: later,
        ..LogQuery::default()
    }
    .matches(&line));
}
