//! A private D-Bus session bus for tests (its own socket in a temp dir, so the developer's session is never
//! touched): the notification server fixture and the keychain tests (gnome-keyring's Secret Service) run on it.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A private session bus: `dbus-daemon --nofork` on `unix:path=<tempdir>/bus`, killed when dropped.
pub struct TestBus {
    child: Child,
    address: String,
    // Kept for the socket and config file; removed after the daemon is gone.
    _dir: tempfile::TempDir,
}

impl TestBus {
    /// Starts the daemon and waits until it prints its address (it listens by then).
    ///
    /// The config is written here rather than `--session`, whose service directories would let the daemon
    /// auto-start whatever notification daemon the machine has installed when nobody owns the name: tests of
    /// "no server reachable" must not depend on the machine.
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("dtt-bus")
            .tempdir()
            .expect("temp dir for the test bus");
        let socket = dir.path().join("bus");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .expect("write the test bus config");
        // Its stderr goes to a file: as root it always complains about the fd limit, which is noise in test
        // output; the file is shown if it fails to start.
        let log = dir.path().join("dbus-daemon.log");
        let stderr = std::fs::File::create(&log).expect("dbus-daemon log file");
        let mut child = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|err| {
                panic!(
                    "cannot start dbus-daemon: {err} (install the Debian packages `dbus` and `dbus-daemon`; \
                     `make test` does it through scripts/deps.sh)"
                )
            });
        let stdout = child.stdout.take().expect("dbus-daemon stdout is piped");
        let mut line = String::new();
        let read = BufReader::new(stdout).read_line(&mut line);
        let address = line.trim().to_owned();
        if read.is_err() || address.is_empty() {
            let _ = child.kill();
            let status = child.wait();
            let log = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("dbus-daemon printed no address (read: {read:?}, exit: {status:?}): {log}");
        }
        Self {
            child,
            address,
            _dir: dir,
        }
    }

    /// The bus address, for `DBUS_SESSION_BUS_ADDRESS` (`unix:path=...,guid=...`).
    pub fn address(&self) -> String {
        self.address.clone()
    }
}

impl Drop for TestBus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
