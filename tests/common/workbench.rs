//! Images, volumes and networks made for the workbench tests on the real engine (nothing can be pulled: images
//! come from `docker commit` and `docker import`), each removed when its guard drops.

use std::process::Command;

use super::{docker, docker_output, image, unique};

/// An image made by a test, removed (with `docker rmi -f`) when dropped.
pub struct TestImage {
    pub reference: String,
    pub id: String,
}

impl TestImage {
    /// `docker commit` of a container from the test image that wrote `kilobytes` of random data to /payload,
    /// as `reference` (`repository:tag`).
    pub fn committed(reference: &str, kilobytes: u32) -> Self {
        let name = unique("commit");
        docker(&[
            "run",
            "--label",
            "docktray.test=1",
            "--name",
            &name,
            &image(),
            "sh",
            "-c",
            &format!("dd if=/dev/urandom of=/payload bs=1024 count={kilobytes} 2>/dev/null"),
        ]);
        let id = docker(&["commit", &name, reference]);
        docker(&["rm", "-f", &name]);
        Self {
            reference: reference.to_owned(),
            id,
        }
    }

    /// An image without any shell: busybox installed only as `/sleep` (its command), imported from a tar.
    pub fn without_shell(reference: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::copy("/bin/busybox", dir.path().join("sleep"))
            .expect("copy /bin/busybox (scripts/deps.sh installs busybox-static)");
        let tar = dir.path().join("rootfs.tar");
        let packed = Command::new("tar")
            .arg("-C")
            .arg(dir.path())
            .arg("-cf")
            .arg(&tar)
            .arg("sleep")
            .status()
            .expect("tar");
        assert!(packed.success());
        let id = docker(&[
            "import",
            "--change",
            "CMD [\"/sleep\", \"3600\"]",
            &tar.to_string_lossy(),
            reference,
        ]);
        Self {
            reference: reference.to_owned(),
            id,
        }
    }
}

impl Drop for TestImage {
    fn drop(&mut self) {
        let _ = docker_output(&["rmi", "-f", &self.id]);
    }
}

/// A named volume made by a test, removed when dropped.
pub struct TestVolume(pub String);

impl TestVolume {
    pub fn new(prefix: &str) -> Self {
        let name = unique(prefix);
        docker(&["volume", "create", "--label", "docktray.test=1", &name]);
        Self(name)
    }
}

impl Drop for TestVolume {
    fn drop(&mut self) {
        let _ = docker_output(&["volume", "rm", "-f", &self.0]);
    }
}

/// A user-defined bridge network made by a test, removed when dropped.
pub struct TestNetwork(pub String);

impl TestNetwork {
    pub fn new(prefix: &str) -> Self {
        let name = unique(prefix);
        docker(&["network", "create", "--label", "docktray.test=1", &name]);
        Self(name)
    }
}

impl Drop for TestNetwork {
    fn drop(&mut self) {
        let _ = docker_output(&["network", "rm", &self.0]);
    }
}

/// `docker system df` as (type, total, active, size, reclaimable) rows, as the docker CLI prints them.
pub fn docker_system_df() -> Vec<[String; 5]> {
    docker(&["system", "df", "--format", "{{json .}}"])
        .lines()
        .map(|line| {
            let row: serde_json::Value = serde_json::from_str(line).expect("docker system df JSON");
            let field = |name: &str| row[name].as_str().unwrap_or_default().to_owned();
            [
                field("Type"),
                field("TotalCount"),
                field("Active"),
                field("Size"),
                field("Reclaimable"),
            ]
        })
        .collect()
}
