//! Tauri's build step: embeds the config, icons and capabilities, and generates one `allow-<command>`
//! permission per app command so capabilities/main.json can grant exactly these (Tauri 2 denies app commands
//! that no capability allows once an app manifest exists). Keep in sync with `commands::handler`.

const COMMANDS: &[&str] = &[
    "get_snapshot",
    "get_container_detail",
    "container_action",
    "get_history",
    "subscribe_logs",
    "unsubscribe_logs",
    "list_alerts",
    "acknowledge_alert",
    "get_settings",
    "validate_settings",
    "save_settings",
    "set_notifications_paused",
    "take_route",
    "webdock_token_status",
    "webdock_test_connection",
    "webdock_set_token",
    "webdock_remove_token",
    "get_vps_history",
    "check_host",
    "host_fingerprint",
    "trust_host",
    "save_host",
    "remove_host",
    "retry_host",
    "discover_hosts",
    "open_url",
    "retry_caddy",
    "test_channel",
    "exec_start",
    "exec_input",
    "exec_resize",
    "exec_close",
    "list_images",
    "list_volumes",
    "list_networks",
    "get_disk_usage",
    "remove_image",
    "prune_images",
    "remove_volume",
    "prune_volumes",
    "remove_network",
    "stack_plan",
    "stack_action",
    "list_timeline",
    "default_export_path",
    "export_timeline",
    "export_series",
];

fn main() {
    let attributes = tauri_build::Attributes::new()
        .app_manifest(tauri_build::AppManifest::new().commands(COMMANDS));
    if let Err(error) = tauri_build::try_build(attributes) {
        // A build script reports failure by panicking; the message says what to fix.
        panic!("tauri-build failed: {error:#}");
    }
}
