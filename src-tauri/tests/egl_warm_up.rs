//! The EGL warm-up on a real X server (Xvfb) with the system's Mesa: the display WebKit will ask for is not set
//! up before `warm_up` and is after it. That EGL hands WebKit this same display is what makes the first window
//! open sooner (measured in benches/desktop.sh, docs/benchmarks.md).

use std::io::Read;
use std::process::{Child, Command, Stdio};

/// Xvfb on a display it picks itself (`-displayfd`); killed when dropped.
struct Xvfb(Child);

impl Xvfb {
    fn start() -> (Self, String) {
        let mut child = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "640x480x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/deps.sh installs xvfb)");
        let mut out = child.stdout.take().expect("Xvfb's stdout");
        let mut number = String::new();
        let mut byte = [0u8; 1];
        while out.read(&mut byte).expect("Xvfb's display number") == 1 && byte[0] != b'\n' {
            number.push(byte[0] as char);
        }
        assert!(!number.is_empty(), "Xvfb reported no display");
        (Self(child), format!(":{number}"))
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn warm_up_sets_up_the_egl_display_webkit_will_use() {
    let (_xvfb, display) = Xvfb::start();
    // One test in this binary: nothing else reads the environment meanwhile.
    std::env::set_var("DISPLAY", &display);
    std::env::remove_var("WAYLAND_DISPLAY");
    gtk::init().expect("GTK on Xvfb");

    assert_eq!(
        docktray_desktop::egl_warm_up::webkit_display_ready(),
        Ok(false),
        "the display must not be set up before the warm-up, or the test proves nothing"
    );
    docktray_desktop::egl_warm_up::warm_up();
    assert_eq!(
        docktray_desktop::egl_warm_up::webkit_display_ready(),
        Ok(true)
    );
}
