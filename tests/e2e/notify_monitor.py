"""Records, from the D-Bus side, what the app sends to the real notification server (dunst) in the e2e test.

A monitor connection (org.freedesktop.DBus.Monitoring.BecomeMonitor) on the run's private session bus: it sees
every Notify call and the reply dunst answered it with, and the server's NotificationClosed / ActionInvoked
signals (dunst sends ActionInvoked only to the connection that called Notify; a monitor sees it anyway). It owns
no name and answers nothing, so it changes nothing on the bus.

Every Notify call dunst answered is appended to the JSON list in argv[1] (rewritten atomically, oldest first):
{"id" (the id dunst answered), "app_name", "replaces_id", "app_icon", "summary", "body", "actions", "urgency",
"expire_timeout", "closed" (NotificationClosed reason, or null), "invoked" (action keys of ActionInvoked)}.
Prints "ready" on stdout once it is a monitor.
"""

import asyncio
import json
import os
import sys

from dbus_next import BusType, Message, MessageType
from dbus_next.aio import MessageBus

IFACE = "org.freedesktop.Notifications"
RULES = [
    f"type='method_call',interface='{IFACE}',member='Notify'",
    "type='method_return'",
    "type='error'",
    f"type='signal',interface='{IFACE}'",
]


class Recorder:
    def __init__(self, path):
        self.path = path
        self.calls = []
        self.pending = {}  # (caller, serial) -> record, until dunst answers
        self.save()

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.calls, f, indent=1)
        os.replace(tmp, self.path)

    def by_id(self, nid):
        """The latest record dunst gave `nid` (a replaced notification keeps its id)."""
        return next((c for c in reversed(self.calls) if c["id"] == nid), None)

    def observe(self, msg):
        if msg.message_type == MessageType.METHOD_CALL:
            if msg.interface != IFACE or msg.member != "Notify" or msg.signature != "susssasa{sv}i":
                return
            app_name, replaces_id, app_icon, summary, body, actions, hints, expire_timeout = msg.body
            urgency = hints.get("urgency")
            self.pending[(msg.sender, msg.serial)] = {
                "id": None,
                "app_name": app_name,
                "replaces_id": replaces_id,
                "app_icon": app_icon,
                "summary": summary,
                "body": body,
                "actions": actions,
                "urgency": urgency.value if urgency is not None else None,
                "expire_timeout": expire_timeout,
                "closed": None,
                "invoked": [],
            }
        elif msg.message_type in (MessageType.METHOD_RETURN, MessageType.ERROR):
            call = self.pending.pop((msg.destination, msg.reply_serial), None)
            if call is None or msg.message_type == MessageType.ERROR or msg.signature != "u":
                return  # not a Notify call, or not shown
            call["id"] = msg.body[0]
            self.calls.append(call)
            self.save()
        elif msg.message_type == MessageType.SIGNAL and msg.interface == IFACE:
            if msg.member == "NotificationClosed" and msg.signature == "uu":
                call = self.by_id(msg.body[0])
                if call is not None:
                    call["closed"] = msg.body[1]
                    self.save()
            elif msg.member == "ActionInvoked" and msg.signature == "us":
                call = self.by_id(msg.body[0])
                if call is not None:
                    call["invoked"].append(msg.body[1])
                    self.save()


async def main():
    recorder = Recorder(sys.argv[1])
    bus = await MessageBus(bus_type=BusType.SESSION).connect()

    # Every message the bus hands the monitor is taken here, so dbus-next never answers a monitored method
    # call (a monitor that sends anything is disconnected); only the bus's messages to us go through.
    def handler(msg):
        if msg.destination == bus.unique_name and msg.sender == "org.freedesktop.DBus":
            return False
        try:
            recorder.observe(msg)
        except Exception as error:  # a malformed call must not stop the recording
            print(f"notify_monitor: {error}: {msg.member} {msg.body!r}", file=sys.stderr, flush=True)
        return True

    bus.add_message_handler(handler)
    reply = await bus.call(Message(
        destination="org.freedesktop.DBus", path="/org/freedesktop/DBus",
        interface="org.freedesktop.DBus.Monitoring", member="BecomeMonitor",
        signature="asu", body=[RULES, 0]))
    if reply.message_type != MessageType.METHOD_RETURN:
        sys.exit(f"notify_monitor: BecomeMonitor failed: {reply.body}")
    print("ready", flush=True)
    await bus.wait_for_disconnect()


if __name__ == "__main__":
    asyncio.run(main())
