//! Running commands in containers on the real engine: `docktray exec` as `docker exec` behaves (output, stdin,
//! a TTY, the exit status passed on, clear refusals), and the terminal sessions the window opens (shell pick,
//! resize, UTF-8, the end of a session).

mod common;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::workbench::TestImage;
use common::*;
use docktray::sources::docker::{Client, ExecChunk, ExecOptions, TermSize};
use docktray::Error;

fn docktray(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run docktray");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input).expect("write stdin");
    }
    child.wait_with_output().expect("docktray output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn cli_exec_behaves_like_docker_exec() {
    let ctr = TestContainer::run("exec", &[], &["sleep", "300"]);

    // Output on each stream, and the command's exit status as Docktray's.
    let out = docktray(
        &[
            "exec",
            &ctr.name,
            "--",
            "sh",
            "-c",
            "echo to-out; echo to-err >&2; exit 3",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "to-out\n");
    assert_eq!(text(&out.stderr), "to-err\n");
    let ok = docktray(&["exec", &ctr.name, "true"], None);
    assert_eq!(ok.status.code(), Some(0));

    // Standard input passed through with -i, to its end (the command sees end of file).
    let input: Vec<u8> = (0..200_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    let out = docktray(&["exec", "-i", &ctr.name, "--", "wc", "-c"], Some(&input));
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), "200000");
    let out = docktray(
        &["exec", "-i", &ctr.name, "cat"],
        Some("grüße ✓\n".as_bytes()),
    );
    assert_eq!(text(&out.stdout), "grüße ✓\n");
    // Without -i the command gets no input.
    let out = docktray(&["exec", &ctr.name, "cat"], Some(b"ignored\n"));
    assert_eq!(text(&out.stdout), "");

    // -t: a terminal, so `tty` names it and output lines end in CR LF; without it, no terminal.
    let out = docktray(&["exec", "-t", &ctr.name, "tty"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with("/dev/pts/"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stdout).ends_with("\r\n"));
    let out = docktray(&["exec", &ctr.name, "tty"], None);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout).trim(), "not a tty");

    // -u and -w as docker exec takes them; -e adds to the environment.
    let out = docktray(
        &[
            "exec",
            "-u",
            "1234",
            "-w",
            "/tmp",
            "-e",
            "GREETING=hi",
            &ctr.name,
            "--",
            "sh",
            "-c",
            "id -u; pwd; echo $GREETING",
        ],
        None,
    );
    assert_eq!(
        text(&out.stdout),
        "1234\n/tmp\nhi\n",
        "{}",
        text(&out.stderr)
    );
    let out = docktray(&["exec", "-e", "NOEQUALS", &ctr.name, "true"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("NAME=value"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn cli_exec_says_clearly_why_it_cannot_run() {
    // A container whose image has no shell: the engine's message, docker's status 126, and what it means.
    let bare = TestImage::without_shell(&format!("{}:latest", unique("noshell")));
    let name = unique("bare");
    docker(&[
        "run",
        "-d",
        "--label",
        "docktray.test=1",
        "--name",
        &name,
        &bare.reference,
    ]);
    let _bare_ctr = TestContainer {
        name: name.clone(),
        id: name.clone(),
    };
    let out = docktray(&["exec", &name, "--", "sh", "-c", "echo hi"], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(126), "{stderr}");
    // The engine's own message comes as the command's output, as `docker exec` prints it.
    assert!(
        text(&out.stdout).contains("executable file not found"),
        "{}",
        text(&out.stdout)
    );
    assert!(stderr.contains("`sh` is not in container"), "{stderr}");
    assert!(stderr.contains("no shell"), "{stderr}");
    // Its own programs still run.
    let out = docktray(&["exec", &name, "/sleep", "0"], None);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));

    // A stopped container: refused before anything runs, with what to do.
    let stopped = TestContainer::create("stopped", &[], &["sleep", "300"]);
    let out = docktray(&["exec", &stopped.name, "true"], None);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("is created, not running"), "{stderr}");
    assert!(
        stderr.contains(&format!("docktray start {}", stopped.name)),
        "{stderr}"
    );

    // A paused one: resume it first.
    let paused = TestContainer::run("paused", &[], &["sleep", "300"]);
    docker(&["pause", &paused.name]);
    let out = docktray(&["exec", &paused.name, "true"], None);
    assert!(
        text(&out.stderr).contains(&format!("docktray unpause {}", paused.name)),
        "{}",
        text(&out.stderr)
    );
    docker(&["unpause", &paused.name]);

    // No such container.
    let out = docktray(&["exec", "dtt-no-such-container", "true"], None);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no container named"));
}

/// Reads the session's output until it contains `wanted` (or fails after 10 s with what came).
async fn read_until(
    output: &mut docktray::sources::docker::ExecOutput,
    seen: &mut Vec<u8>,
    wanted: &str,
) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !String::from_utf8_lossy(seen).contains(wanted) {
        let chunk = tokio::time::timeout_at(deadline, output.next())
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "no {wanted:?} in the terminal: {:?}",
                    String::from_utf8_lossy(seen)
                )
            });
        match chunk {
            Some(Ok(ExecChunk::Stdout(bytes) | ExecChunk::Stderr(bytes))) => {
                seen.extend_from_slice(&bytes)
            }
            other => panic!(
                "the session ended before {wanted:?}: {other:?}; {:?}",
                String::from_utf8_lossy(seen)
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_session_picks_a_shell_resizes_keeps_utf8_and_ends() {
    let ctr = TestContainer::run("term", &[], &["sleep", "300"]);
    let client = Client::connect("local", &test_config().docker_endpoint())
        .await
        .expect("engine");

    // The busybox test image has sh but no bash: auto picks sh; asking for bash alone says there is none.
    assert_eq!(
        client.pick_shell(&ctr.name, None).await.expect("a shell"),
        "sh"
    );
    match client.pick_shell(&ctr.name, Some("bash")).await {
        Err(Error::NoShell { tried, .. }) => assert_eq!(tried, "bash"),
        other => panic!("bash is not in busybox: {other:?}"),
    }

    let options = ExecOptions {
        cmd: vec!["sh".into()],
        tty: true,
        stdin: true,
        env: vec!["TERM=xterm-256color".into()],
        size: Some(TermSize {
            cols: 100,
            rows: 30,
        }),
        ..ExecOptions::default()
    };
    let exec = client.exec(&ctr.name, &options).await.expect("exec");
    let (handle, mut output, mut input) = (exec.handle, exec.output, exec.input);
    let mut seen = Vec::new();
    input.write(b"echo $((6*7))\n").await.expect("type");
    read_until(&mut output, &mut seen, "42\r\n").await;
    input.write(b"stty size\n").await.expect("type");
    read_until(&mut output, &mut seen, "30 100").await;
    handle
        .resize(TermSize {
            cols: 120,
            rows: 40,
        })
        .await
        .expect("resize");
    input.write(b"stty size\n").await.expect("type");
    read_until(&mut output, &mut seen, "40 120").await;
    // UTF-8 arrives intact, byte for byte (11 bytes), and comes back as typed.
    input
        .write("printf 'grüße-✓' | wc -c; echo 'grüße-✓'\n".as_bytes())
        .await
        .expect("type");
    read_until(&mut output, &mut seen, "11\r\ngrüße-✓\r\n").await;
    // Colours pass as the escape codes the program wrote.
    input
        .write(b"printf '\\033[31mred\\033[0m\\n'\n")
        .await
        .expect("type");
    read_until(&mut output, &mut seen, "\u{1b}[31mred\u{1b}[0m").await;

    // The shell exits: the output ends and its status is read.
    input.write(b"exit 5\n").await.expect("type");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Some(chunk) = tokio::time::timeout_at(deadline, output.next())
        .await
        .expect("the session ends")
    {
        chunk.expect("output");
    }
    assert_eq!(handle.exit_code().await.expect("status"), Some(5));

    // A session whose container stops ends too.
    let exec = client.exec(&ctr.name, &options).await.expect("exec");
    let mut output = exec.output;
    docker(&["stop", "-t", "1", &ctr.name]);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while let Some(chunk) = tokio::time::timeout_at(deadline, output.next())
        .await
        .expect("the session ends when the container stops")
    {
        if chunk.is_err() {
            break;
        }
    }
    match client.exec(&ctr.name, &options).await {
        Err(Error::NotRunning { state, .. }) => assert_eq!(state, "exited"),
        Err(other) => panic!("a stopped container is refused as not running: {other}"),
        Ok(_) => panic!("a stopped container is refused as not running"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_without_a_shell_is_named_as_such() {
    let bare = TestImage::without_shell(&format!("{}:latest", unique("noshell")));
    let name = unique("bare");
    docker(&[
        "run",
        "-d",
        "--label",
        "docktray.test=1",
        "--name",
        &name,
        &bare.reference,
    ]);
    let _guard = TestContainer {
        name: name.clone(),
        id: name.clone(),
    };
    let client = Client::connect("local", &test_config().docker_endpoint())
        .await
        .expect("engine");
    let err = client.pick_shell(&name, None).await.expect_err("no shell");
    let message = err.to_string();
    assert!(matches!(err, Error::NoShell { .. }), "{message}");
    assert!(
        message.contains("has no shell (tried bash, sh)"),
        "{message}"
    );
    assert!(
        message.contains(&format!("docktray exec {name} -- PROGRAM")),
        "{message}"
    );
}
