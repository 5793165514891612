//! The `docker` CLI and the benchmark's containers (labelled, removed on drop).

use super::*;

#[derive(Clone)]
pub(crate) struct Cli {
    pub(crate) program: String,
}

impl Cli {
    /// Full ids of the running containers labelled as benchmark containers.
    pub(crate) fn running_bench_ids(&self) -> Result<Vec<String>> {
        Ok(self
            .output(&[
                "ps",
                "-q",
                "--no-trunc",
                "--filter",
                "label=docktray.bench=1",
                "--filter",
                "status=running",
            ])?
            .lines()
            .map(str::to_owned)
            .collect())
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(&self.program);
        command.args(args);
        command
    }

    pub(crate) fn output(&self, args: &[&str]) -> Result<String> {
        let output = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {} {}", self.program, args.join(" ")))?;
        ensure!(
            output.status.success(),
            "{} {} failed: {}",
            self.program,
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }
}

/// The benchmark's containers; removed on drop (also when the bench fails or panics).
pub(crate) struct Containers {
    pub(crate) cli: Cli,
    pub(crate) ids: Vec<String>,
}

impl Containers {
    pub(crate) fn grow_to(&mut self, n: usize, image: &str) -> Result<()> {
        eprintln!(
            "starting {} idle containers (total {n})",
            n.saturating_sub(self.ids.len())
        );
        let run = std::process::id();
        while self.ids.len() < n {
            let name = format!("dtbench-{run}-{}", self.ids.len());
            let mut args = vec!["run", "-d", "--name", &name];
            args.extend(LABELS);
            args.extend([image, "sh", "-c", "sleep 1000000"]);
            let id = self.cli.output(&args)?;
            self.ids.push(id);
        }
        let running = self.cli.running_bench_ids()?;
        for id in &self.ids {
            ensure!(
                running.iter().any(|line| line == id),
                "container {id} is not running"
            );
        }
        Ok(())
    }

    pub(crate) fn remove_all(&mut self) {
        if self.ids.is_empty() {
            return;
        }
        let mut args = vec!["rm", "-f", "-v"];
        args.extend(self.ids.iter().map(String::as_str));
        if let Err(err) = self.cli.output(&args) {
            eprintln!("warning: removing benchmark containers: {err:#}");
        }
        self.ids.clear();
    }
}

impl Drop for Containers {
    fn drop(&mut self) {
        self.remove_all();
    }
}

pub(crate) fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

pub(crate) fn env_parse(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .with_context(|| format!("{name}={value:?} is not a number")),
        Err(_) => Ok(default),
    }
}

// ---- Report ---------------------------------------------------------------------------------------------------
