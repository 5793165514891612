//! The tests' local Webdock API (tests/common/webdock.rs, which follows the API notes) as a program, for the
//! end-to-end test of the window (scripts/e2e.sh): `webdock_fixture TOKEN` prints its base URL on the first
//! line and serves the default servers (Shop, Blog) until it is killed. A test fixture, not product code.

#[allow(dead_code)]
#[path = "../tests/common/webdock.rs"]
mod webdock;

use std::io::Write;

fn main() {
    let Some(token) = std::env::args().nth(1).filter(|t| !t.is_empty()) else {
        eprintln!("usage: webdock_fixture TOKEN");
        std::process::exit(2);
    };
    let fixture = webdock::WebdockFixture::start(&token);
    let mut out = std::io::stdout().lock();
    if writeln!(out, "{}", fixture.url())
        .and_then(|()| out.flush())
        .is_err()
    {
        std::process::exit(1);
    }
    drop(out);
    loop {
        std::thread::park();
    }
}
