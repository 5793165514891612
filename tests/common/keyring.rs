//! A real OS keychain for tests: gnome-keyring's Secret Service on a private session bus, with HOME and the XDG
//! directories in a temp dir so the developer's keyrings are never touched. Started unlocked (the login
//! keyring is created with a throwaway password); [`Keychain::lock`] locks it again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::dbus::TestBus;

pub struct Keychain {
    daemon: Option<Child>,
    home: tempfile::TempDir,
    // Declared last: the bus outlives the daemon.
    bus: TestBus,
}

impl Keychain {
    /// A bus and an unlocked gnome-keyring on it.
    pub fn start() -> Self {
        let mut keychain = Self::bus_only();
        keychain.start_daemon();
        keychain
    }

    /// A bus with no Secret Service on it (a machine without a keychain).
    pub fn bus_only() -> Self {
        let home = tempfile::Builder::new()
            .prefix("dtt-home")
            .tempdir()
            .expect("temp HOME");
        for dir in [".config", ".local/share", ".cache", "run"] {
            std::fs::create_dir_all(home.path().join(dir)).expect("XDG dir");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(
                home.path().join("run"),
                std::fs::Permissions::from_mode(0o700),
            );
        }
        Self {
            daemon: None,
            home,
            bus: TestBus::start(),
        }
    }

    fn start_daemon(&mut self) {
        let mut command = Command::new("gnome-keyring-daemon");
        command
            .args(["--foreground", "--unlock", "--components=secrets"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.apply(&mut command);
        let mut child = command.spawn().unwrap_or_else(|err| {
            panic!(
                "cannot start gnome-keyring-daemon: {err} (install the Debian packages gnome-keyring and \
                 libsecret-tools; `make test` does it through scripts/deps.sh)"
            )
        });
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"test-keyring-password");
        }
        self.daemon = Some(child);
        let deadline = Instant::now() + Duration::from_secs(15);
        while !self.has_secret_service() {
            assert!(
                Instant::now() < deadline,
                "gnome-keyring did not take org.freedesktop.secrets within 15 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn has_secret_service(&self) -> bool {
        let mut command = Command::new("dbus-send");
        command.args([
            "--session",
            "--print-reply",
            "--dest=org.freedesktop.DBus",
            "/org/freedesktop/DBus",
            "org.freedesktop.DBus.NameHasOwner",
            "string:org.freedesktop.secrets",
        ]);
        self.apply(&mut command);
        command
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).contains("boolean true"))
            .unwrap_or(false)
    }

    /// The session environment for a child process: this bus, and HOME / XDG dirs in the temp dir.
    pub fn apply(&self, command: &mut Command) {
        let home = self.home.path();
        command
            .env("DBUS_SESSION_BUS_ADDRESS", self.bus.address())
            .env("HOME", home)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_DATA_HOME", home.join(".local/share"))
            .env("XDG_CACHE_HOME", home.join(".cache"))
            .env("XDG_RUNTIME_DIR", home.join("run"));
    }

    pub fn home(&self) -> &Path {
        self.home.path()
    }

    /// The session bus the keychain is on (other test servers, such as dunst, can join it).
    pub fn bus_address(&self) -> String {
        self.bus.address()
    }

    pub fn keyrings_dir(&self) -> PathBuf {
        self.home.path().join(".local/share/keyrings")
    }

    /// `secret-tool ARGS` in this session: an independent client reading the same Secret Service.
    pub fn secret_tool(&self, args: &[&str]) -> std::process::Output {
        let mut command = Command::new("secret-tool");
        command.args(args).stdin(Stdio::null());
        self.apply(&mut command);
        command.output().expect("run secret-tool")
    }

    /// Locks the login keyring (as after a screen lock or a fresh login without unlocking), through the
    /// Secret Service's own `Lock` call (`secret-tool lock` waits forever for a prompt in a headless session).
    pub fn lock(&self) {
        let mut command = Command::new("dbus-send");
        command.args([
            "--session",
            "--print-reply",
            "--reply-timeout=5000",
            "--dest=org.freedesktop.secrets",
            "/org/freedesktop/secrets",
            "org.freedesktop.Secret.Service.Lock",
            "array:objpath:/org/freedesktop/secrets/collection/login",
        ]);
        self.apply(&mut command);
        let out = command.output().expect("run dbus-send");
        assert!(
            out.status.success()
                && String::from_utf8_lossy(&out.stdout).contains("collection/login"),
            "locking the login keyring failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Keychain {
    fn drop(&mut self) {
        if let Some(mut daemon) = self.daemon.take() {
            let _ = daemon.kill();
            let _ = daemon.wait();
        }
    }
}
