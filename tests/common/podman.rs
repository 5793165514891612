//! A private Podman engine for tests: `podman system service` on its own socket, with its storage, config,
//! runtime directory and events under one temporary directory, rootful or rootless (as a throwaway user with its
//! own subordinate ids and XDG_RUNTIME_DIR). Nothing is pulled: the busybox test image is imported from a rootfs
//! tarball. Dropping it removes its containers, stops the service and every process it left (the rootless pause
//! process), unmounts anything under its directory and deletes the user, so a run leaves nothing behind.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The image every service imports (nothing can be pulled here).
pub const PODMAN_IMAGE: &str = "localhost/docktray-test-busybox:latest";
/// This sandbox refuses raising rlimits; Podman raises them unless told the limits to use. Test set-up only.
const ULIMITS: [&str; 4] = [
    "--ulimit",
    "nofile=1024:1024",
    "--ulimit",
    "nproc=1024:1024",
];

/// The throwaway user a rootless service runs as.
pub struct PodmanUser {
    pub name: String,
    pub uid: u32,
}

pub struct PodmanService {
    pub dir: tempfile::TempDir,
    pub user: Option<PodmanUser>,
    service: Option<Child>,
    tcp: Option<(Child, u16)>,
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|err| panic!("cannot run {program} (scripts/deps.sh installs it): {err}"))
}

fn run_ok(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

impl PodmanUser {
    /// Creates `name` with a home in `home`, and subordinate uid/gid ranges when useradd gave none.
    fn create(name: &str, home: &Path) -> Self {
        let _ = run("userdel", &[name]);
        run_ok(
            "useradd",
            &[
                "--no-create-home",
                "--home-dir",
                &home.to_string_lossy(),
                "--shell",
                "/bin/sh",
                name,
            ],
        );
        let has_range = |file: &str| {
            std::fs::read_to_string(file)
                .unwrap_or_default()
                .lines()
                .any(|line| line.starts_with(&format!("{name}:")))
        };
        if !has_range("/etc/subuid") || !has_range("/etc/subgid") {
            let start = 400_000 + (std::process::id() % 1000) * 65_536;
            let range = format!("{start}-{}", start + 65_535);
            run_ok(
                "usermod",
                &["--add-subuids", &range, "--add-subgids", &range, name],
            );
        }
        let uid = run_ok("id", &["-u", name]).parse().expect("uid");
        Self {
            name: name.to_owned(),
            uid,
        }
    }
}

impl PodmanService {
    /// A rootful service (as root). `tag` (2-3 letters) starts its directory's name.
    pub fn rootful(tag: &str) -> Self {
        Self::start(tag, false)
    }

    /// A rootless service, as a user created for it.
    pub fn rootless(tag: &str) -> Self {
        Self::start(tag, true)
    }

    fn start(tag: &str, rootless: bool) -> Self {
        // Short path: unix socket paths are limited to 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix(&format!("dtp{tag}"))
            .tempdir_in("/tmp")
            .expect("tempdir");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        let root = dir.path();
        for sub in [
            "conf/containers",
            "home",
            "run/podman",
            "storage",
            "tmp",
            "networks",
        ] {
            std::fs::create_dir_all(root.join(sub)).expect("service directories");
        }
        let runroot = if rootless {
            root.join("run/storage")
        } else {
            root.join("runroot")
        };
        std::fs::write(
            root.join("conf/containers/containers.conf"),
            format!(
                "[containers]\nlog_driver = \"k8s-file\"\n\
                 [engine]\ncgroup_manager = \"cgroupfs\"\nevents_logger = \"file\"\n\
                 events_logfile_path = \"{root}/events.log\"\ntmp_dir = \"{root}/run/libpod\"\n\
                 image_copy_tmp_dir = \"{root}/tmp\"\n\
                 [network]\nnetwork_config_dir = \"{root}/networks\"\n",
                root = root.display()
            ),
        )
        .expect("containers.conf");
        // vfs: plain directories, so the storage leaves no mount behind.
        std::fs::write(
            root.join("conf/containers/storage.conf"),
            format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{}\"\nrunroot = \"{}\"\n",
                root.join("storage").display(),
                runroot.display()
            ),
        )
        .expect("storage.conf");
        let user = rootless.then(|| {
            let name = format!("dtpod{}{tag}", std::process::id() % 100_000);
            let user = PodmanUser::create(&name, &root.join("home"));
            run_ok(
                "chown",
                &["-R", &format!("{name}:{name}"), &root.to_string_lossy()],
            );
            std::fs::set_permissions(root.join("run"), std::fs::Permissions::from_mode(0o700))
                .expect("chmod runtime dir");
            user
        });
        let mut service = Self {
            dir,
            user,
            service: None,
            tcp: None,
        };
        let socket = format!("unix://{}", service.socket().display());
        service.service = Some(service.spawn_service(&socket, "service.log"));
        service.wait_until_it_answers(&service.host());
        service.import_image();
        service
    }

    /// The environment every podman process of this service gets (service and CLI alike).
    fn env(&self) -> Vec<(String, String)> {
        let root = self.dir.path();
        vec![
            (
                "PATH".into(),
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            ),
            ("HOME".into(), root.join("home").display().to_string()),
            (
                "XDG_RUNTIME_DIR".into(),
                root.join("run").display().to_string(),
            ),
            (
                "XDG_CONFIG_HOME".into(),
                root.join("conf").display().to_string(),
            ),
            (
                "XDG_DATA_HOME".into(),
                root.join("home").display().to_string(),
            ),
            (
                "CONTAINERS_CONF".into(),
                root.join("conf/containers/containers.conf")
                    .display()
                    .to_string(),
            ),
            (
                "CONTAINERS_STORAGE_CONF".into(),
                root.join("conf/containers/storage.conf")
                    .display()
                    .to_string(),
            ),
        ]
    }

    fn spawn_service(&self, address: &str, log: &str) -> Child {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.dir.path().join(log))
            .expect("log file");
        let mut command = match &self.user {
            // setpriv: the service runs as the test user, with only the environment given.
            Some(user) => {
                let mut command = Command::new("setpriv");
                command.args([
                    "--reuid",
                    &user.name,
                    "--regid",
                    &user.name,
                    "--init-groups",
                    "podman",
                ]);
                command
            }
            None => Command::new("podman"),
        };
        command
            .args(["system", "service", "--time=0", address])
            .env_clear()
            .envs(self.env())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start podman system service (scripts/deps.sh installs podman)")
    }

    fn wait_until_it_answers(&self, url: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let output = self.cli_at(url, &["version", "--format", "{{.Server.Version}}"]);
            if output.status.success() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "podman system service did not answer on {url}: {}\n{}",
                String::from_utf8_lossy(&output.stderr),
                std::fs::read_to_string(self.dir.path().join("service.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The service's socket: `$XDG_RUNTIME_DIR/podman/podman.sock`, where a user's own Podman keeps it.
    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("run/podman/podman.sock")
    }

    /// `unix://` + the socket.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket().display())
    }

    /// The runtime directory (the service user's XDG_RUNTIME_DIR).
    pub fn runtime_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    /// A second service on the same storage, on `tcp://127.0.0.1:PORT`: an endpoint whose cgroups Docktray does
    /// not read, so it samples through Podman's API. Returns the endpoint.
    pub fn serve_tcp(&mut self) -> String {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let url = format!("tcp://127.0.0.1:{port}");
        let child = self.spawn_service(&url, "tcp.log");
        self.tcp = Some((child, port));
        self.wait_until_it_answers(&url);
        url
    }

    fn cli_at(&self, url: &str, args: &[&str]) -> Output {
        Command::new("podman")
            .args(["--remote", "--url", url])
            .args(args)
            .env_clear()
            .envs(self.env())
            .output()
            .expect("run the podman CLI")
    }

    /// The podman CLI against this service (remote mode); the output, failing the test on error.
    pub fn podman(&self, args: &[&str]) -> String {
        let output = self.podman_output(args);
        assert!(
            output.status.success(),
            "podman {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    }

    pub fn podman_output(&self, args: &[&str]) -> Output {
        self.cli_at(&self.host(), args)
    }

    /// `podman run -d --name NAME --network none <ulimits> <options> IMAGE <command>`; the container's id.
    pub fn run(&self, name: &str, options: &[&str], command: &[&str]) -> String {
        let mut args = vec!["run", "-d", "--name", name, "--network", "none"];
        args.extend_from_slice(&ULIMITS);
        args.extend_from_slice(options);
        args.push(PODMAN_IMAGE);
        args.extend_from_slice(command);
        self.podman(&args)
    }

    /// The engine's version as `podman version` reports the server's.
    pub fn version(&self) -> String {
        self.podman(&["version", "--format", "{{.Server.Version}}"])
    }

    /// Memory of `name` as `podman stats` shows it, in bytes (it prints SI units, `18.57MB`).
    pub fn stats_memory(&self, name: &str) -> f64 {
        let json = self.podman(&["stats", "--no-stream", "--format", "json", name]);
        let parsed: serde_json::Value = serde_json::from_str(&json).expect("podman stats JSON");
        let usage = parsed[0]["mem_usage"]
            .as_str()
            .and_then(|text| text.split(" / ").next())
            .unwrap_or_else(|| panic!("no mem_usage in {json}"));
        super::parse_size(usage)
    }

    /// Imports the busybox test image from a rootfs tarball (`podman import`, like `docker import` in
    /// scripts/test-env.sh).
    fn import_image(&self) {
        let rootfs = self.dir.path().join("tmp/rootfs");
        for sub in ["bin", "etc", "tmp", "root", "proc", "sys", "dev"] {
            std::fs::create_dir_all(rootfs.join(sub)).expect("rootfs");
        }
        std::fs::set_permissions(rootfs.join("tmp"), std::fs::Permissions::from_mode(0o1777))
            .expect("chmod tmp");
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox"))
            .expect("/bin/busybox (scripts/deps.sh installs busybox-static)");
        let applets = run_ok("/bin/busybox", &["--list"]);
        for applet in applets
            .lines()
            .filter(|a| !a.is_empty() && *a != "busybox" && !a.contains('/'))
        {
            let _ = std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet));
        }
        std::fs::write(
            rootfs.join("etc/passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        )
        .expect("passwd");
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n").expect("group");
        let tarball = self.dir.path().join("tmp/rootfs.tar");
        run_ok(
            "tar",
            &[
                "--numeric-owner",
                "--owner=0",
                "--group=0",
                "-C",
                &rootfs.to_string_lossy(),
                "-cf",
                &tarball.to_string_lossy(),
                ".",
            ],
        );
        self.podman(&[
            "import",
            "--change",
            "CMD [\"/bin/sh\"]",
            "--change",
            "ENV PATH=/bin",
            &tarball.to_string_lossy(),
            PODMAN_IMAGE,
        ]);
        let _ = std::fs::remove_dir_all(&rootfs);
        let _ = std::fs::remove_file(&tarball);
    }

    /// Processes that still mention this service's directory, or run as its user.
    pub fn leftover_processes(&self) -> Vec<String> {
        processes_of(self.dir.path(), self.user.as_ref().map(|u| u.uid))
            .into_iter()
            .map(|(pid, cmdline)| format!("{pid} {cmdline}"))
            .collect()
    }

    /// Mount points under this service's directory.
    pub fn leftover_mounts(&self) -> Vec<String> {
        mounts_under(self.dir.path())
    }

    /// Removes the containers and pods, stops the services and whatever they left running, unmounts.
    pub fn stop(&mut self) {
        if self.service.is_some() {
            let _ = self.podman_output(&["rm", "--all", "--force", "--time", "0"]);
            let _ = self.podman_output(&["pod", "rm", "--all", "--force"]);
        }
        for mut child in [self.tcp.take().map(|(c, _)| c), self.service.take()]
            .into_iter()
            .flatten()
        {
            terminate(&mut child);
        }
        // The rootless pause process (it holds the user namespace) and conmons outlive the service.
        let uid = self.user.as_ref().map(|u| u.uid);
        for _ in 0..50 {
            let left = processes_of(self.dir.path(), uid);
            if left.is_empty() {
                break;
            }
            for (pid, _) in left {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        for mount in mounts_under(self.dir.path()).into_iter().rev() {
            let _ = Command::new("umount").arg(&mount).status();
        }
    }
}

fn terminate(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Live processes whose command line mentions `dir`, or that run as `uid`.
fn processes_of(dir: &Path, uid: Option<u32>) -> Vec<(u32, String)> {
    let needle = dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.file_name().to_string_lossy().parse().ok()?;
            let status = std::fs::read_to_string(entry.path().join("status")).ok()?;
            // Zombies are gone already; their parent (or init) reaps them.
            if status
                .lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
            {
                return None;
            }
            let owner: Option<u32> = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
            let cmdline = std::fs::read(entry.path().join("cmdline"))
                .map(|raw| String::from_utf8_lossy(&raw).replace('\0', " "))
                .unwrap_or_default();
            let ours = cmdline.contains(&needle) || (uid.is_some() && owner == uid);
            (ours && pid != std::process::id()).then_some((pid, cmdline))
        })
        .collect()
}

/// Mount points at or below `dir`, in mount order.
fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.to_string_lossy().into_owned();
    std::fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| line.split_whitespace().nth(4))
        .filter(|point| point.starts_with(&prefix))
        .map(str::to_owned)
        .collect()
}

impl Drop for PodmanService {
    fn drop(&mut self) {
        self.stop();
        if let Some(user) = self.user.take() {
            let _ = run("userdel", &[&user.name]);
        }
    }
}
