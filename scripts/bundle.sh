#!/usr/bin/env bash
# Builds the Debian package with the Tauri bundler (release build, desktop entry, icons):
#   scripts/bundle.sh   ->   target/release/bundle/deb/Docktray_<version>_amd64.deb
# The Tauri CLI comes from npm (the ui's devDependency when it has one, else the same version through npx):
# a prebuilt binary, far cheaper than `cargo install tauri-cli`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Keep in step with the tauri crate in Cargo.lock.
TAURI_CLI_VERSION=2.12.5

"$root/scripts/build-ui.sh"
# The package also ships the `docktray` command and its systemd unit (packaging/docktray-serve.service).
(cd "$root" && cargo build --release -p docktray --bin docktray)
if [[ -x "$root/ui/node_modules/.bin/tauri" ]]; then
  tauri=("$root/ui/node_modules/.bin/tauri")
else
  tauri=(npx --yes "@tauri-apps/cli@$TAURI_CLI_VERSION")
fi
cd "$root/src-tauri"
"${tauri[@]}" build --bundles deb --ci
ls -1 "$root"/target/release/bundle/deb/*.deb
