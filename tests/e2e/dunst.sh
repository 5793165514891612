# shellcheck shell=bash
# The real notification server of the e2e test (scripts/e2e.sh) and of benches/desktop.sh: sourced by them, and
# start_dunst called inside their dbus-run-session, with DISPLAY set.
#
#   start_dunst WORK_DIR    starts dunst on this display and session bus with WORK_DIR/dunst/dunstrc, logging
#                           to WORK_DIR/dunst.log; adds its pid to the caller's PIDS (stopped by its trap) and
#                           returns once dunst answers on the bus (dies, with the caller's die, if it does not).
#
# The configuration is its own, as in tests/common/notifications.rs: nothing from the machine or a user (no
# drop-ins, no scripts or sounds), no idle detection and no limit, so notifications stay on screen until the test
# clicks one; a left click does what `dunstctl action` does (tests/e2e/conftest.py click_notification). They show
# at the top right of the screen, 300 px wide: the callers' Xvfb screens are wide enough that this is beside the
# app's window (1100 px wide, at 0,0 without a window manager), so no screenshot shows one.
start_dunst() {
  local dir="$1/dunst" log="$1/dunst.log" i dunst
  mkdir -p "$dir"
  cat >"$dir/dunstrc" <<'RC'
[global]
    markup = full
    idle_threshold = 0
    notification_limit = 0
    indicate_hidden = yes
    sticky_history = no
    history_length = 100
    show_indicators = no
    origin = top-right
    offset = 10x10
    width = 300
    mouse_left_click = do_action, close_current
    mouse_middle_click = close_current
    mouse_right_click = close_all
RC
  XDG_CONFIG_HOME="$dir" XDG_CONFIG_DIRS="$dir" dunst -config "$dir/dunstrc" -verbosity info \
    </dev/null >"$log" 2>&1 &
  dunst=$!
  PIDS+=("$dunst")
  for ((i = 0; i < 200; i++)); do
    dunstctl is-paused >/dev/null 2>&1 && return 0
    kill -0 "$dunst" 2>/dev/null || { cat "$log" >&2; die "dunst exited during startup"; }
    sleep 0.1
  done
  die "dunst did not answer on the session bus in 20 s"
}
