"""The app's tray icon as a desktop shell sees it: over D-Bus, from outside the process.

tests/e2e/sni_watcher.py records which connection registered a StatusNotifierItem. From there:
- `icon_file()` reads the item's IconName (libappindicator: the absolute path of a PNG the tray library
  writes; otherwise a name under IconThemePath), and `icon_level()` classifies its pixels by colour;
- `menu()` lists the com.canonical.dbusmenu items (GetLayout), `click()` sends Event(id, "clicked").
Only the registering connection hosts the item (calling another of the app's connections hangs), and every
call has a timeout. Each helper opens its own short-lived connection, so it can be called from sync tests.
"""

import asyncio
import json
import os
import time

from dbus_next import BusType, Message, MessageType, Variant
from dbus_next.aio import MessageBus

CALL_TIMEOUT = 5.0
ITEM_IFACE = "org.kde.StatusNotifierItem"
MENU_IFACE = "com.canonical.dbusmenu"

# src/sinks/tray.rs level_colour()
LEVEL_COLOURS = {
    "ok": (0x2E, 0xA0, 0x4F),
    "warning": (0xF0, 0xB0, 0x00),
    "critical": (0xE0, 0x2F, 0x2F),
    "unreachable": (0x8A, 0x8F, 0x98),
}
BADGE = (0x20, 0x20, 0x24)


class TrayError(AssertionError):
    pass


def registered_items():
    path = os.environ["E2E_SNI_LOG"]
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return []


def wait_item(timeout=30.0):
    """The first registered StatusNotifierItem ({"service", "path"}); waits for it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = registered_items()
        if items:
            return items[-1]
        time.sleep(0.2)
    raise TrayError(f"no StatusNotifierItem registered with the watcher within {timeout:.0f} s")


async def _call(bus, service, path, interface, member, signature="", body=()):
    reply = await asyncio.wait_for(
        bus.call(
            Message(
                destination=service,
                path=path,
                interface=interface,
                member=member,
                signature=signature,
                body=list(body),
            )
        ),
        CALL_TIMEOUT,
    )
    if reply.message_type == MessageType.ERROR:
        raise TrayError(f"{interface}.{member} on {service}{path}: {reply.error_name}: {reply.body}")
    return reply.body


def _run(coro_fn):
    async def wrapper():
        bus = await asyncio.wait_for(MessageBus(bus_type=BusType.SESSION).connect(), CALL_TIMEOUT)
        try:
            return await coro_fn(bus)
        finally:
            bus.disconnect()

    return asyncio.run(wrapper())


def _unwrap(value):
    return value.value if isinstance(value, Variant) else value


def properties(item):
    """All org.kde.StatusNotifierItem properties of the item, unwrapped."""

    async def go(bus):
        (props,) = await _call(
            bus, item["service"], item["path"], "org.freedesktop.DBus.Properties", "GetAll", "s", [ITEM_IFACE]
        )
        return {k: _unwrap(v) for k, v in props.items()}

    return _run(go)


def icon_file(item):
    props = properties(item)
    name = props.get("IconName") or ""
    if name.startswith("/"):
        return name
    theme = props.get("IconThemePath") or ""
    for candidate in (os.path.join(theme, name), os.path.join(theme, name + ".png")):
        if name and os.path.isfile(candidate):
            return candidate
    raise TrayError(f"the tray item's IconName {name!r} (IconThemePath {theme!r}) names no readable file")


def _distance(a, b):
    return sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5


def icon_pixels(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.convert("RGBA").copy()


def classify(image):
    """(level, has_badge): the level whose colour most opaque pixels are close to; the dark badge's presence."""
    counts = dict.fromkeys(LEVEL_COLOURS, 0)
    badge = 0
    data = image.tobytes()  # RGBA, 4 bytes a pixel
    for i in range(0, len(data), 4):
        r, g, b, a = data[i:i + 4]
        if a < 250:
            continue
        rgb = (r, g, b)
        if _distance(rgb, BADGE) < 12:
            badge += 1
            continue
        for level, colour in LEVEL_COLOURS.items():
            if _distance(rgb, colour) < 24:
                counts[level] += 1
    level = max(counts, key=counts.get)
    if counts[level] == 0:
        level = None
    # The badge is a quarter of the icon, minus its digit.
    return level, badge >= image.width * image.height // 16


def icon_level(item):
    """(level, has_badge, png path) of the icon the item shows now."""
    path = icon_file(item)
    level, badge = classify(icon_pixels(path))
    return level, badge, path


def _layout_items(node, out):
    item_id, props, children = node
    label = _unwrap(props.get("label", "")) if props else ""
    out.append({"id": item_id, "label": label, "enabled": _unwrap(props.get("enabled", True)) if props else True})
    for child in children:
        _layout_items(_unwrap(child), out)
    return out


def menu_path(item):
    path = properties(item).get("Menu")
    if not path:
        raise TrayError("the tray item exports no Menu")
    return path


def menu(item):
    """The menu's items below the root: [{"id", "label", "enabled"}], depth first."""
    path = menu_path(item)

    async def go(bus):
        _revision, layout = await _call(
            bus, item["service"], path, MENU_IFACE, "GetLayout", "iias", [0, -1, []]
        )
        return _layout_items(layout, [])[1:]

    return _run(go)


def click(item, entry_id):
    path = menu_path(item)

    async def go(bus):
        await _call(
            bus,
            item["service"],
            path,
            MENU_IFACE,
            "Event",
            "isvu",
            [entry_id, "clicked", Variant("i", 0), int(time.time()) & 0xFFFFFFFF],
        )

    _run(go)
