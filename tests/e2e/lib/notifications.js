// A notification server for the tests: it owns org.freedesktop.Notifications on the session bus
// the app uses (run.sh's private D-Bus session) and records every notification the app sends, as
// a desktop's notification daemon would receive it.
import dbus from "dbus-next";

const { Interface } = dbus.interface;

class Notifications extends Interface {
  constructor(received) {
    super("org.freedesktop.Notifications");
    this.received = received;
    this.nextId = 0;
  }
  Notify(appName, replacesId, appIcon, summary, body, actions, hints, expireTimeout) {
    this.nextId += 1;
    this.received.push({ id: this.nextId, appName, summary, body, actions, at: Date.now() });
    return this.nextId;
  }
  GetCapabilities() {
    return ["body", "actions"];
  }
  GetServerInformation() {
    return ["offsite-e2e", "offsite", "1.0", "1.2"];
  }
  CloseNotification() {}
}

Notifications.configureMembers({
  methods: {
    Notify: { inSignature: "susssasa{sv}i", outSignature: "u" },
    GetCapabilities: { inSignature: "", outSignature: "as" },
    GetServerInformation: { inSignature: "", outSignature: "ssss" },
    CloseNotification: { inSignature: "u", outSignature: "" },
  },
  signals: {
    NotificationClosed: { signature: "uu" },
    ActionInvoked: { signature: "us" },
  },
});

/**
 * Start the server; fails loudly when there is no session bus or the name is taken.
 * Returns { received, stop }.
 */
export async function startNotificationServer() {
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) {
    throw new Error("no D-Bus session (DBUS_SESSION_BUS_ADDRESS): run the e2e tests through tests/e2e/run.sh");
  }
  const bus = dbus.sessionBus();
  const received = [];
  const reply = await bus.requestName("org.freedesktop.Notifications", dbus.NameFlag.DO_NOT_QUEUE);
  if (reply !== dbus.RequestNameReply.PRIMARY_OWNER) {
    bus.disconnect();
    throw new Error(`another process owns org.freedesktop.Notifications (reply ${reply})`);
  }
  bus.export("/org/freedesktop/Notifications", new Notifications(received));
  return {
    received,
    stop: () => bus.disconnect(),
  };
}
