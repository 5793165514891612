"""A recording desktop notification server for the e2e test.

Owns org.freedesktop.Notifications on the session bus and answers like a real server (dunst): GetCapabilities
("body", "actions": no markup, so the app must send plain text), GetServerInformation, Notify,
CloseNotification. A second interface, org.docktray.e2e.Clicks, lets the test click a notification:
Click(id, action_key) emits ActionInvoked as a server does when the user clicks it. Every Notify call is appended to the JSON list in argv[1] (rewritten atomically):
{"id", "app_name", "replaces_id", "app_icon", "summary", "body", "actions", "urgency", "expire_timeout"}.
Prints "ready" on stdout once the name is owned.
"""

import asyncio
import json
import os
import sys

from dbus_next import BusType
from dbus_next.aio import MessageBus
from dbus_next.constants import RequestNameReply
from dbus_next.service import ServiceInterface, method, signal

NAME = "org.freedesktop.Notifications"
PATH = "/org/freedesktop/Notifications"
CLICKS = "org.docktray.e2e.Clicks"


class Notifications(ServiceInterface):
    def __init__(self, record_path):
        super().__init__(NAME)
        self.record_path = record_path
        self.calls = []
        self.save()

    def save(self):
        tmp = self.record_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.calls, f, indent=1)
        os.replace(tmp, self.record_path)

    @method()
    def GetCapabilities(self) -> "as":  # noqa: F821
        return ["body", "actions"]

    @method()
    def GetServerInformation(self) -> "ssss":  # noqa: F821
        return ["docktray-e2e-recorder", "docktray", "1.0", "1.2"]

    @method()
    def Notify(
        self,
        app_name: "s",  # noqa: F821
        replaces_id: "u",  # noqa: F821
        app_icon: "s",  # noqa: F821
        summary: "s",  # noqa: F821
        body: "s",  # noqa: F821
        actions: "as",  # noqa: F821
        hints: "a{sv}",  # noqa: F821
        expire_timeout: "i",  # noqa: F821
    ) -> "u":  # noqa: F821
        nid = replaces_id or len(self.calls) + 1
        urgency = hints.get("urgency")
        self.calls.append(
            {
                "id": nid,
                "app_name": app_name,
                "replaces_id": replaces_id,
                "app_icon": app_icon,
                "summary": summary,
                "body": body,
                "actions": actions,
                "urgency": urgency.value if urgency is not None else None,
                "expire_timeout": expire_timeout,
            }
        )
        self.save()
        return nid

    @method()
    def CloseNotification(self, nid: "u"):  # noqa: F821
        self.NotificationClosed(nid, 3)

    @signal()
    def NotificationClosed(self, nid, reason) -> "uu":  # noqa: F821
        return [nid, reason]

    @signal()
    def ActionInvoked(self, nid, key) -> "us":  # noqa: F821
        return [nid, key]


class Clicks(ServiceInterface):
    """What the user's click on a notification would do: the server emits ActionInvoked(id, key)."""

    def __init__(self, notifications):
        super().__init__(CLICKS)
        self.notifications = notifications

    @method()
    def Click(self, nid: "u", key: "s"):  # noqa: F821
        self.notifications.ActionInvoked(nid, key)


async def main():
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    notifications = Notifications(sys.argv[1])
    bus.export(PATH, notifications)
    bus.export(PATH, Clicks(notifications))
    reply = await bus.request_name(NAME)
    if reply != RequestNameReply.PRIMARY_OWNER:
        sys.exit(f"notify_recorder: could not own {NAME}: {reply}")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main())
