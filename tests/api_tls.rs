//! Serving beyond loopback safely: HTTPS with a self-signed certificate (curl `--cacert`), a non-loopback
//! address refused without `allow_remote` and, with it, without TLS or `allow_plain_http`; and the shipped
//! systemd unit passes `systemd-analyze verify`.

mod common;

use std::path::Path;
use std::process::Command;

use common::caddy::free_port;
use common::serve::{Options, Serve};

/// A self-signed certificate for localhost and 127.0.0.1: (cert, key).
fn certificate(dir: &Path) -> (String, String) {
    let cert = dir.join("cert.pem").display().to_string();
    let key = dir.join("key.pem").display().to_string();
    let out = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
        ])
        .args([
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .args(["-keyout", &key, "-out", &cert])
        .output()
        .expect("openssl (scripts/deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

#[test]
fn https_with_a_self_signed_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = certificate(dir.path());
    let api = format!("tls_cert = \"{cert}\"\ntls_key = \"{key}\"\n");
    let serve = Serve::start(Options {
        api: &api,
        ca: Some(cert.clone().into()),
        ..Options::default()
    });
    assert!(serve.url().starts_with("https://"));
    let (status, body) = serve.get("/health");
    assert_eq!(status, 200, "{body}");
    assert!(
        serve.stderr().contains("https://127.0.0.1"),
        "{}",
        serve.stderr()
    );
    // Without trusting the certificate curl refuses; plain HTTP to the HTTPS port gets nothing.
    let untrusted = Command::new("curl")
        .args(["-s", "-m", "5"])
        .arg(format!("https://127.0.0.1:{}/healthz", serve.port))
        .status()
        .expect("curl");
    assert_eq!(
        untrusted.code(),
        Some(60),
        "curl should refuse an unknown certificate"
    );
    let plain = Command::new("curl")
        .args(["-s", "-m", "5", "-o", "/dev/null", "-w", "%{http_code}"])
        .arg(format!("http://127.0.0.1:{}/healthz", serve.port))
        .output()
        .expect("curl");
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "200");
    // A WebSocket over TLS works too (curl's HTTP/1.1 upgrade request gets 101).
    let upgrade = serve
        .curl()
        .args([
            "-s",
            "-m",
            "3",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "--http1.1",
        ])
        .args([
            "-H",
            "Connection: Upgrade",
            "-H",
            "Upgrade: websocket",
            "-H",
            "Sec-WebSocket-Version: 13",
        ])
        .args(["-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
        .args(["-H", &format!("Authorization: Bearer {}", serve.token)])
        .arg(format!("{}/api/v1/ws", serve.url()))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&upgrade.stdout), "101");
}

fn serve_refused(args: &[&str], api: &str) -> String {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::write(&config, format!("[api]\n{api}")).expect("config");
    let out = Command::new(env!("CARGO_BIN_EXE_docktray"))
        .arg("--config")
        .arg(&config)
        .arg("serve")
        .args(args)
        .env("DOCKTRAY_API_TOKEN", "t")
        .output()
        .expect("docktray serve");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_non_loopback_address_needs_consent_and_tls() {
    let port = free_port();
    let listen = format!("0.0.0.0:{port}");
    let message = serve_refused(&["--listen", &listen], "");
    assert!(
        message.contains("api.listen") && message.contains("allow_remote"),
        "{message}"
    );
    let message = serve_refused(&["--listen", &listen], "allow_remote = true\n");
    assert!(
        message.contains("tls_cert") && message.contains("allow_plain_http"),
        "{message}"
    );
    let message = serve_refused(&["--listen", "localhost"], "");
    assert!(message.contains("api.listen"), "{message}");
    // With consent and TLS it serves on every address.
    let dir = tempfile::tempdir().expect("tempdir");
    let (cert, key) = certificate(dir.path());
    let api = format!("allow_remote = true\ntls_cert = \"{cert}\"\ntls_key = \"{key}\"\n");
    let serve = Serve::start(Options {
        api: &api,
        listen_ip: "0.0.0.0",
        ca: Some(cert.into()),
        ..Options::default()
    });
    assert!(
        serve.stderr().contains("https://0.0.0.0"),
        "{}",
        serve.stderr()
    );
}

#[test]
fn the_systemd_unit_passes_systemd_analyze_verify() {
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/packaging/docktray-serve.service"
    ))
    .expect("the unit");
    assert!(unit.contains("ExecStart=/usr/bin/docktray serve"));
    // Verified with this build's binary where the package puts /usr/bin/docktray (verify checks it exists).
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("docktray-serve.service");
    std::fs::write(
        &path,
        unit.replace("/usr/bin/docktray", env!("CARGO_BIN_EXE_docktray")),
    )
    .expect("write");
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("systemd-analyze");
    assert!(
        out.status.success() && !String::from_utf8_lossy(&out.stderr).contains("docktray-serve"),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The Debian package ships the unit and the command.
    let conf: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src-tauri/tauri.conf.json"
        ))
        .expect("conf"),
    )
    .expect("JSON");
    let files = &conf["bundle"]["linux"]["deb"]["files"];
    assert_eq!(
        files["/lib/systemd/system/docktray-serve.service"],
        "../packaging/docktray-serve.service"
    );
    assert_eq!(files["/usr/bin/docktray"], "../target/release/docktray");
}
