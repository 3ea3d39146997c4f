import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ChannelView, DeliveryView, RouteView } from "../bindings";
import type { Call } from "../ipc/call";
import { checkChannel, EMPTY_CHANNEL } from "./model";
import { NotificationsSection } from "./NotificationsSection";
import { failure, fakeApi, hook, sentTest } from "./fixtures";

const type = (testId: string, value: string) => fireEvent.change(screen.getByTestId(testId), { target: { value } });

async function openForm(api: ReturnType<typeof fakeApi>["api"]) {
  render(<NotificationsSection api={api} />);
  fireEvent.click(await screen.findByTestId("channel-add"));
  // The Add button gives way to the open form's title (issue 44).
  expect(screen.queryByTestId("channel-add")).toBeNull();
  expect(screen.getByTestId("channel-add-title")).toHaveTextContent("Add a channel");
  return screen.getByTestId("channel-form");
}

describe("the add-channel checks", () => {
  it("say what is missing or malformed for each kind", () => {
    expect(checkChannel(EMPTY_CHANNEL)).toEqual({
      name: expect.any(String),
      webhookUrl: "Required.",
    });
    const email = { ...EMPTY_CHANNEL, name: "ops", kind: "email" as const };
    expect(Object.keys(checkChannel({ ...email, emailTo: "nobody", smtpUrl: "http://mail" }))).toEqual(["emailTo", "smtpUrl"]);
    expect(checkChannel({ ...email, emailTo: "a@x.org", smtpUrl: "smtp://u:hunter2@mail.x.org" }).smtpUrl).toMatch(
      /password/,
    );
    expect(checkChannel({ ...email, emailTo: "a@x.org, b@x.org", smtpUrl: "smtps://mail.x.org" })).toEqual({});
    const pd = { ...EMPTY_CHANNEL, name: "pd", webhookUrl: "https://events.pagerduty.com/v2/enqueue", preset: "pagerduty" as const };
    expect(checkChannel(pd).secret).toMatch(/routing key/);
    expect(checkChannel({ ...pd, secret: "k" })).toEqual({});
    expect(checkChannel({ ...EMPTY_CHANNEL, name: "has space", webhookUrl: "ftp://x" })).toEqual({
      name: expect.any(String),
      webhookUrl: expect.stringMatching(/http/),
    });
    expect(checkChannel({ ...EMPTY_CHANNEL, name: "tg", kind: "telegram" })).toEqual({
      chatId: expect.any(String),
      botToken: expect.any(String),
    });
  });
});

describe("Notifications in Settings", () => {
  it("says what to do when there are no channels, and that nothing was sent", async () => {
    const { api } = fakeApi();
    render(<NotificationsSection api={api} />);
    expect(await screen.findByTestId("notify-channels-none")).toHaveTextContent(
      "No channels yet: add email, a webhook, Telegram or a heartbeat ping",
    );
    expect(await screen.findByTestId("notify-log-empty")).toBeInTheDocument();
    expect(screen.queryByTestId("notify-routes")).toBeNull();
  });

  it("refuses an incomplete form without asking the engine", async () => {
    const { api, rec } = fakeApi();
    await openForm(api);
    fireEvent.click(screen.getByTestId("channel-save"));
    expect(await screen.findByTestId("channel-name-error")).toBeInTheDocument();
    expect(screen.getByTestId("channel-webhookUrl-error")).toHaveTextContent("Required.");
    fireEvent.change(screen.getByTestId("channel-kind"), { target: { value: "telegram" } });
    fireEvent.click(screen.getByTestId("channel-save"));
    expect(await screen.findByTestId("channel-botToken-error")).toBeInTheDocument();
    expect(rec.added).toEqual([]);
  });

  it("sends the secret once and never shows it again", async () => {
    const { api, rec } = fakeApi();
    await openForm(api);
    type("channel-name", "hook");
    type("channel-webhookUrl", "https://example.com/offsite");
    type("channel-secret", "s3cret-signing-key");
    expect(screen.getByTestId("channel-secret")).toHaveAttribute("type", "password");
    fireEvent.click(screen.getByTestId("channel-save"));
    const item = await screen.findByTestId("channel");
    expect(rec.added).toEqual([
      { name: "hook", channel: { kind: "webhook", url: "https://example.com/offsite", preset: "json", secret: "s3cret-signing-key" } },
    ]);
    expect(within(item).getByTestId("channel-target")).toHaveTextContent("https://example.com/offsite");
    expect(screen.queryByTestId("channel-form")).toBeNull();
    expect(document.body.innerHTML).not.toContain("s3cret-signing-key");
    // Opening the form again starts empty.
    fireEvent.click(screen.getByTestId("channel-add"));
    fireEvent.change(screen.getByTestId("channel-kind"), { target: { value: "webhook" } });
    expect(screen.getByTestId("channel-secret")).toHaveValue("");
  });

  it("empties the secret when the engine refuses the channel, and shows why", async () => {
    const { api } = fakeApi([], {
      add: async () => failure("already_exists", 'a channel named "hook" already exists', "remove it first or pick another name"),
    });
    await openForm(api);
    fireEvent.change(screen.getByTestId("channel-kind"), { target: { value: "email" } });
    type("channel-name", "hook");
    type("channel-emailTo", "ops@example.com");
    type("channel-smtpUrl", "smtp://alerts@mail.example.com");
    type("channel-password", "hunter2-password");
    fireEvent.click(screen.getByTestId("channel-save"));
    expect(await screen.findByTestId("channel-add-error-message")).toHaveTextContent("already exists");
    expect(screen.getByTestId("channel-add-error-hint")).toHaveTextContent("pick another name");
    expect(screen.getByTestId("channel-password")).toHaveValue("");
    expect(screen.getByTestId("channel-smtpUrl")).toHaveValue("smtp://alerts@mail.example.com");
    expect(document.body.innerHTML).not.toContain("hunter2-password");
  });

  it("shows a test's success, and a failed test's message and hint in place", async () => {
    let answer: Call<string> = failure("connection", "cannot connect to 127.0.0.1:9 for channel hook: connection refused", "check that the receiver runs");
    const { api } = fakeApi([hook], { test: async () => answer });
    render(<NotificationsSection api={api} />);
    fireEvent.click(await screen.findByTestId("channel-test"));
    const error = await screen.findByTestId("channel-test-error");
    expect(error).toHaveAttribute("data-code", "connection");
    expect(screen.getByTestId("channel-test-error-title")).toHaveTextContent("Cannot reach the server");
    expect(screen.getByTestId("channel-test-error-message")).toHaveTextContent("connection refused");
    expect(screen.getByTestId("channel-test-error-hint")).toHaveTextContent("check that the receiver runs");
    answer = { ok: true, data: "5f2b3c4d-aaaa-4bbb-8ccc-dddddddddddd" };
    fireEvent.click(screen.getByTestId("channel-test"));
    const result = await screen.findByTestId("channel-test-result");
    expect(result).toHaveTextContent("Test sent. Check that it arrived.");
    // The event id only behind Details, never in the sentence.
    const event = screen.getByTestId("channel-test-event");
    expect(event.tagName).toBe("DETAILS");
    expect(event).not.toHaveAttribute("open");
    expect(event).toHaveTextContent("5f2b3c4d");
    expect(result.textContent!.replace(event.textContent!, "")).not.toContain("5f2b3c4d");
    expect(screen.queryByTestId("channel-test-error")).toBeNull();
  });

  it("shows one result at a time: a later test's error replaces the green Added, and another channel's result (notify-04)", async () => {
    const down: ChannelView = { ...hook, name: "down" };
    const { api } = fakeApi([down, hook], {
      test: async (name) => (name === "down" ? failure("connection", "channel 'down': connection refused", "check the server") : { ok: true, data: "5f2b3c4d-aaaa" }),
    });
    await openForm(api);
    type("channel-name", "new");
    type("channel-webhookUrl", "https://example.com/offsite");
    fireEvent.click(screen.getByTestId("channel-save"));
    expect(await screen.findByTestId("channels-notice")).toHaveTextContent("Added new.");
    const [first, second] = screen.getAllByTestId("channel");
    fireEvent.click(within(second!).getByTestId("channel-test"));
    expect(await within(second!).findByTestId("channel-test-result")).toBeInTheDocument();
    expect(screen.queryByTestId("channels-notice")).toBeNull();
    fireEvent.click(within(first!).getByTestId("channel-test"));
    expect(await within(first!).findByTestId("channel-test-error")).toBeInTheDocument();
    expect(screen.queryByTestId("channel-test-result")).toBeNull();
    expect(screen.queryByTestId("channels-notice")).toBeNull();
    expect(screen.queryAllByRole("status").filter((e) => e.classList.contains("notice"))).toHaveLength(0);
  });

  it("removes a channel only after the second question", async () => {
    const { api, rec } = fakeApi([hook]);
    render(<NotificationsSection api={api} />);
    fireEvent.click(await screen.findByTestId("channel-remove"));
    fireEvent.click(screen.getByTestId("channel-remove-no"));
    expect(rec.removed).toEqual([]);
    fireEvent.click(screen.getByTestId("channel-remove"));
    expect(screen.getByTestId("channel-remove-confirm")).toHaveTextContent("secrets leave the keychain");
    fireEvent.click(screen.getByTestId("channel-remove-yes"));
    await waitFor(() => expect(rec.removed).toEqual(["hook"]));
    expect(await screen.findByTestId("notify-channels-none")).toBeInTheDocument();
  });

  it("keeps a queued delivery's next attempt whole on one line (notify-08 broke '2026-11- / 26 15:51')", async () => {
    const queued = { ...sentTest, state: "queued" as const };
    const { api } = fakeApi([hook], {}, [queued]);
    render(<NotificationsSection api={api} />);
    const next = await screen.findByTestId("notify-log-next");
    expect(next).toHaveClass("nowrap");
    expect(next.textContent).toMatch(/^2026-11-24 \d\d:\d\d$/);
    expect(screen.getByTestId("notify-log-state")).toHaveTextContent(/^Waiting to send · next 2026-11-24/);
  });

  it("lists deliveries with state, project, attempts and the last error", async () => {
    const asked: (string | null)[] = [];
    const { api } = fakeApi([hook], {}, [sentTest]);
    const logged = api.log;
    api.log = async (p) => {
      asked.push(p);
      return logged(p);
    };
    render(<NotificationsSection api={api} />);
    const row = await screen.findByTestId("notify-log-row");
    expect(row).toHaveAttribute("data-state", "failed");
    expect(row).toHaveTextContent("backup failed");
    expect(row).toHaveTextContent("Backup of shop failed: connection refused");
    expect(row).toHaveTextContent("shop");
    expect(within(row).getByTestId("notify-log-error-text")).toHaveTextContent("HTTP 401 from the receiver");
    fireEvent.change(screen.getByTestId("notify-log-project"), { target: { value: "shop" } });
    await waitFor(() => expect(asked).toContain("shop"));
    fireEvent.click(screen.getByTestId("notify-log-refresh"));
    await waitFor(() => expect(asked.filter((p) => p === "shop").length).toBe(2));
  });

  it("routes a project's chosen events to a channel, starting from the default the engine sends", async () => {
    const ping: ChannelView = { ...hook, name: "beat", kind: "ping", detail: null, default_events: ["failed", "succeeded"] };
    const { api, rec } = fakeApi([hook, ping]);
    render(<NotificationsSection api={api} />);
    expect(await screen.findByTestId("notify-routes-default")).toHaveTextContent("No routes yet");
    const rows = await screen.findAllByTestId("notify-route");
    const row = rows.find((r) => r.getAttribute("data-channel") === "hook")!;
    // Before any route the boxes say what is sent (seen on notify-03: all unchecked beside
    // "failures … go to every channel").
    for (const g of ["failed", "overdue", "drill", "space"]) expect(within(row).getByTestId(`notify-route-${g}`)).toBeChecked();
    expect(within(row).getByTestId("notify-route-succeeded")).not.toBeChecked();
    fireEvent.click(within(row).getByTestId("notify-route-overdue"));
    fireEvent.click(within(row).getByTestId("notify-route-overdue"));
    // Checked then unchecked: nothing to save.
    expect(screen.getByTestId("notify-route-save")).toBeDisabled();
    expect(row).toHaveAttribute("data-changed", "false");
    for (const g of ["overdue", "space", "copies", "agent", "platform"]) fireEvent.click(within(row).getByTestId(`notify-route-${g}`));
    expect(screen.getByTestId("notify-route-pending")).toHaveTextContent("Not saved yet: hook");
    fireEvent.click(screen.getByTestId("notify-route-save"));
    // The first route of the project keeps the other channel's default (it would hear nothing).
    await waitFor(() =>
      expect(rec.routed).toEqual([
        { project: "shop", channel: "beat", events: ["failed", "succeeded"] },
        { project: "shop", channel: "hook", events: ["failed", "drill"] },
      ]),
    );
  });

  it("saves the boxes of every row with one Save, and discards them with one click", async () => {
    const ping: ChannelView = { ...hook, name: "beat", kind: "ping", detail: null, default_events: ["failed"] };
    const routes: RouteView[] = [
      { project: "shop", channel: "hook", events: ["failed"] },
      { project: "shop", channel: "beat", events: ["failed"] },
    ];
    const { api, rec } = fakeApi([hook, ping], {}, [], routes);
    render(<NotificationsSection api={api} />);
    const row = (name: string) => screen.getAllByTestId("notify-route").find((r) => r.dataset.channel === name)!;
    await screen.findAllByTestId("notify-route");
    expect(screen.queryByTestId("notify-route-discard")).toBeNull();
    fireEvent.click(within(row("hook")).getByTestId("notify-route-succeeded"));
    fireEvent.click(within(row("beat")).getByTestId("notify-route-drill"));
    expect(screen.getByTestId("notify-route-pending")).toHaveTextContent("Not saved yet: hook, beat");
    expect(screen.getByTestId("notify-route-project")).toHaveTextContent("shop (not saved)");
    // Discard: both rows back to what is saved, nothing written.
    fireEvent.click(screen.getByTestId("notify-route-discard"));
    expect(within(row("hook")).getByTestId("notify-route-succeeded")).not.toBeChecked();
    expect(within(row("beat")).getByTestId("notify-route-drill")).not.toBeChecked();
    expect(screen.getByTestId("notify-route-save")).toBeDisabled();
    expect(rec.routed).toEqual([]);
    // Again, then one Save writes the two rows changed (and only those).
    fireEvent.click(within(row("hook")).getByTestId("notify-route-succeeded"));
    fireEvent.click(within(row("beat")).getByTestId("notify-route-drill"));
    fireEvent.click(screen.getByTestId("notify-route-save"));
    await waitFor(() =>
      expect(rec.routed).toEqual([
        { project: "shop", channel: "hook", events: ["failed", "succeeded"] },
        { project: "shop", channel: "beat", events: ["failed", "drill"] },
      ]),
    );
    expect(await screen.findByTestId("notify-route-saved")).toHaveTextContent("Saved");
  });

  it("saves a route that names no event: the channel then hears nothing from the project", async () => {
    const { api, rec } = fakeApi([hook], {}, [], [{ project: "shop", channel: "hook", events: ["failed"] }]);
    render(<NotificationsSection api={api} />);
    const row = await screen.findByTestId("notify-route");
    expect(within(row).getByTestId("notify-route-failed")).toBeChecked();
    expect(screen.queryByTestId("notify-routes-default")).toBeNull();
    expect(screen.getByTestId("notify-routes-custom")).toHaveTextContent("hears nothing from shop");
    expect(within(row).queryByTestId("notify-route-none")).toBeNull();
    fireEvent.click(within(row).getByTestId("notify-route-failed"));
    expect(within(row).getByTestId("notify-route-none")).toHaveTextContent("hears nothing from shop");
    fireEvent.click(screen.getByTestId("notify-route-save"));
    await waitFor(() => expect(rec.routed).toEqual([{ project: "shop", channel: "hook", events: [] }]));
  });

  it("takes a rate a minute for any kind, checks it, and lists each channel's rate", async () => {
    const { api, rec } = fakeApi([hook]);
    await openForm(api);
    expect(screen.getByTestId("channel-rate")).toHaveAttribute("placeholder", "1200");
    fireEvent.change(screen.getByTestId("channel-preset"), { target: { value: "slack" } });
    expect(screen.getByTestId("channel-rate")).toHaveAttribute("placeholder", "30");
    type("channel-name", "quiet");
    type("channel-webhookUrl", "https://hooks.slack.com/services/T/B/X");
    for (const bad of ["0", "2.5", "many", "60001"]) {
      type("channel-rate", bad);
      fireEvent.click(screen.getByTestId("channel-save"));
      expect(await screen.findByTestId("channel-rate-error")).toHaveTextContent("1 to 60000");
    }
    expect(rec.added).toEqual([]);
    type("channel-rate", "2");
    fireEvent.click(screen.getByTestId("channel-save"));
    await waitFor(() => expect(rec.added.map((a) => [a.name, a.rate])).toEqual([["quiet", 2]]));
    const items = await screen.findAllByTestId("channel");
    const rate = (name: string) => within(items.find((i) => i.dataset.name === name)!).getByTestId("channel-rate-label");
    expect(rate("quiet")).toHaveTextContent("at most 2 a minute");
    expect(rate("quiet")).not.toHaveTextContent("default");
    expect(rate("hook")).toHaveTextContent("at most 1200 a minute (default)");
  });

  it("leaves the Telegram Bot API server to Telegram's own when empty", async () => {
    const { api, rec } = fakeApi();
    await openForm(api);
    fireEvent.change(screen.getByTestId("channel-kind"), { target: { value: "telegram" } });
    expect(screen.getByTestId("channel-telegramApi")).toHaveAttribute("placeholder", "https://api.telegram.org");
    type("channel-name", "tg");
    type("channel-chatId", "-1001234567890");
    type("channel-botToken", "123456:ABC-DEF");
    fireEvent.click(screen.getByTestId("channel-save"));
    await waitFor(() =>
      expect(rec.added).toEqual([
        { name: "tg", channel: { kind: "telegram", chat_id: "-1001234567890", bot_token: "123456:ABC-DEF", api_base: null } },
      ]),
    );
    expect(rec.checked).toEqual([]);
  });

  it("shows the engine's refusal of a Bot API server on its field, and stores nothing", async () => {
    const { api, rec } = fakeApi([], {
      checkTelegramApi: async (url) =>
        url.startsWith("https://") || url.startsWith("http://127.0.0.1")
          ? { ok: true, data: url }
          : failure(
              "invalid_input",
              `Bot API server: refusing to send the bot token to "${url}": use an https:// address`,
              "use an https:// address (http:// only to this machine)",
            ),
    });
    await openForm(api);
    fireEvent.change(screen.getByTestId("channel-kind"), { target: { value: "telegram" } });
    type("channel-name", "tg");
    type("channel-chatId", "-100");
    type("channel-botToken", "123456:SECRET-TOKEN");
    type("channel-telegramApi", "http://tg.example.com");
    fireEvent.click(screen.getByTestId("channel-save"));
    const error = await screen.findByTestId("channel-telegramApi-error");
    expect(error).toHaveTextContent("refusing to send the bot token");
    expect(error).toHaveTextContent("http:// only to this machine");
    expect(screen.getByTestId("channel-telegramApi")).toHaveAttribute("aria-invalid", "true");
    expect(screen.getByTestId("channel-telegramApi")).toHaveAttribute("aria-describedby", error.id);
    expect(rec.added).toEqual([]);
    // The token is not kept in the form, and never shown.
    expect(screen.getByTestId("channel-botToken")).toHaveValue("");
    expect(document.body.innerHTML).not.toContain("SECRET-TOKEN");
    // Typing in the field clears its error; a loopback server is taken.
    type("channel-telegramApi", "http://127.0.0.1:8081");
    expect(screen.queryByTestId("channel-telegramApi-error")).toBeNull();
    type("channel-botToken", "123456:SECRET-TOKEN");
    fireEvent.click(screen.getByTestId("channel-save"));
    await waitFor(() => expect(rec.added).toHaveLength(1));
    expect(rec.added[0]?.channel).toMatchObject({ kind: "telegram", api_base: "http://127.0.0.1:8081" });
  });

  it("refreshes channels and the delivery log by itself when the catalog names a notification change", async () => {
    let changed: (() => void) | null = null;
    let stopped = false;
    let log: DeliveryView[] = [];
    const { api } = fakeApi([], {
      changes: async (onChange) => {
        changed = onChange;
        return () => {
          stopped = true;
        };
      },
      log: async () => ({ ok: true, data: log }),
    });
    let channels: ChannelView[] = [];
    api.list = async () => ({ ok: true, data: { channels, routes: [] } });
    const view = render(<NotificationsSection api={api} />);
    expect(await screen.findByTestId("notify-channels-none")).toBeInTheDocument();
    await waitFor(() => expect(changed).not.toBeNull());
    // The CLI added a channel in another process, and a delivery to it failed.
    channels = [{ ...hook, name: "from-cli" }];
    log = [{ ...sentTest, channel: "from-cli" }];
    changed!();
    const item = await screen.findByTestId("channel");
    expect(item).toHaveAttribute("data-name", "from-cli");
    const row = await screen.findByTestId("notify-log-row");
    expect(row).toHaveAttribute("data-state", "failed");
    // Then it was sent.
    log = [{ ...sentTest, channel: "from-cli", state: "sent", last_error: null, sent_at: "2026-11-24T09:11:00Z" }];
    changed!();
    await waitFor(() => expect(screen.getByTestId("notify-log-row")).toHaveAttribute("data-state", "sent"));
    view.unmount();
    expect(stopped).toBe(true);
  });

  it("follows a route saved elsewhere while the page is open, unless the boxes were changed here", async () => {
    let changed: (() => void) | null = null;
    const { api } = fakeApi([hook, { ...hook, name: "cli" }], { changes: async (cb) => ((changed = cb), () => {}) });
    let routes: RouteView[] = [];
    api.list = async () => ({ ok: true, data: { channels: [hook, { ...hook, name: "cli" }], routes } });
    render(<NotificationsSection api={api} />);
    const row = (name: string) => screen.getAllByTestId("notify-route").find((r) => r.dataset.channel === name)!;
    await screen.findAllByTestId("notify-route");
    await waitFor(() => expect(changed).not.toBeNull());
    fireEvent.click(within(row("hook")).getByTestId("notify-route-succeeded")); // an edit here (on the default)
    routes = [
      { project: "shop", channel: "cli", events: ["succeeded"] },
      { project: "shop", channel: "hook", events: ["failed"] },
    ];
    changed!();
    await waitFor(() => expect(within(row("cli")).getByTestId("notify-route-succeeded")).toBeChecked());
    expect(row("cli")).toHaveAttribute("data-changed", "false");
    expect(screen.getByTestId("notify-route-pending")).toHaveTextContent("Not saved yet: hook");
    // The boxes changed here stay as they are: the default plus "succeeded", not the saved "failed".
    expect(within(row("hook")).getByTestId("notify-route-succeeded")).toBeChecked();
    expect(within(row("hook")).getByTestId("notify-route-overdue")).toBeChecked();
  });
});
