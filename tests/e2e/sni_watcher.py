"""A minimal StatusNotifierWatcher for the e2e test: a tray host as far as the app can tell.

Owns org.kde.StatusNotifierWatcher on the session bus, says a host is registered, and records every
RegisterStatusNotifierItem as {"service": <unique bus name of the caller>, "path": <object path>} in the JSON
file given as argv[1] (rewritten atomically on each change). The app's tray library then exports its icon as a
StatusNotifierItem (IconName: a PNG file it writes) with a com.canonical.dbusmenu menu, which tests/e2e/tray.py
reads over D-Bus. Prints "ready" on stdout once the name is owned.

Only the connection that sent RegisterStatusNotifierItem hosts the item: the recorded "service" is that sender.
"""

import asyncio
import json
import os
import sys

from dbus_next import BusType
from dbus_next.aio import MessageBus
from dbus_next.constants import PropertyAccess, RequestNameReply
from dbus_next.service import ServiceInterface, dbus_property, method, signal

NAME = "org.kde.StatusNotifierWatcher"
PATH = "/StatusNotifierWatcher"


class Watcher(ServiceInterface):
    def __init__(self, record_path):
        super().__init__(NAME)
        self.record_path = record_path
        self.items = []  # [{"service", "path"}]
        self.last_sender = None
        self.save()

    def save(self):
        tmp = self.record_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.items, f)
        os.replace(tmp, self.record_path)

    @method()
    def RegisterStatusNotifierItem(self, service: "s"):  # noqa: F821
        sender = self.last_sender  # noted by the message handler in main()
        # Spec: the argument is a bus name (object at /StatusNotifierItem) or, as libappindicator sends, a path.
        if service.startswith("/"):
            item = {"service": sender, "path": service}
        else:
            item = {"service": service, "path": "/StatusNotifierItem"}
        if item not in self.items:
            self.items.append(item)
            self.save()
        self.StatusNotifierItemRegistered(item["service"] + item["path"])

    @method()
    def RegisterStatusNotifierHost(self, service: "s"):  # noqa: F821
        pass

    @dbus_property(access=PropertyAccess.READ)
    def RegisteredStatusNotifierItems(self) -> "as":  # noqa: F821
        return [i["service"] + i["path"] for i in self.items]

    @dbus_property(access=PropertyAccess.READ)
    def IsStatusNotifierHostRegistered(self) -> "b":  # noqa: F821
        return True

    @dbus_property(access=PropertyAccess.READ)
    def ProtocolVersion(self) -> "i":  # noqa: F821
        return 0

    @signal()
    def StatusNotifierItemRegistered(self, item) -> "s":  # noqa: F821
        return item

    @signal()
    def StatusNotifierItemUnregistered(self, item) -> "s":  # noqa: F821
        return item

    @signal()
    def StatusNotifierHostRegistered(self):
        pass


async def main():
    bus = await MessageBus(bus_type=BusType.SESSION).connect()
    watcher = Watcher(sys.argv[1])

    # dbus-next does not hand the sender to service methods; message handlers run before the method is
    # dispatched, so note it there (returning None lets the call go on to the method).
    def note_sender(msg):
        if msg.member == "RegisterStatusNotifierItem":
            watcher.last_sender = msg.sender

    bus.add_message_handler(note_sender)
    bus.export(PATH, watcher)
    reply = await bus.request_name(NAME)
    if reply != RequestNameReply.PRIMARY_OWNER:
        sys.exit(f"sni_watcher: could not own {NAME}: {reply}")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main())
