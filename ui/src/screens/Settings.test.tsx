import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { overview, protectedHealth } from "../dashboard/fixtures";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { AppInfo, DesktopSettings, ToolsReport } from "../bindings";
import { fromDraft, joinPath, Settings, toolChoices } from "./Settings";

const saved: DesktopSettings = {
  notifications: true,
  start_minimised: false,
  schedule_notifications: "always",
  schedule_concurrency: 1,
  theme: "system",
  default_backup_dir: null,
  pg_bin: null,
  check_for_updates: true,
};

const tools: ToolsReport = {
  configured: null,
  configured_outside: false,
  found: [
    { dir: "/usr/lib/postgresql/17/bin", version_line: "pg_dump (PostgreSQL) 17.2", major: 17, minor: 2 },
    { dir: "/usr/lib/postgresql/15/bin", version_line: "pg_dump (PostgreSQL) 15.8", major: 15, minor: 8 },
  ],
};

const info: AppInfo = {
  name: "Offsite",
  version: "0.1.0",
  engine: "offsite 0.1.0",
  data_dir: "/home/ada/.local/share/offsite",
  versions: { version: "0.1.0", archive_format: 1, archive_formats_read: [1], catalog_schema: 7 },
};

type Handlers = Partial<Record<string, (args: Record<string, unknown>) => unknown>>;

function mock(handlers: Handlers = {}, settings: DesktopSettings = saved, report: ToolsReport = tools) {
  const calls: { cmd: string; args: Record<string, unknown> }[] = [];
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const h = handlers[cmd];
    if (h) return h(a);
    switch (cmd) {
      case "get_desktop_settings":
        return settings;
      case "detect_tools":
        return report;
      case "app_info":
        return info;
      case "get_autostart":
        return false;
      case "get_default_encryption":
        return { mode: "off", chosen: true };
      case "list_channels":
        return { channels: [], routes: [] };
      case "notify_log":
      case "list_projects":
        return [];
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  return calls;
}

function type(testId: string, value: string) {
  fireEvent.change(screen.getByTestId(testId), { target: { value } });
}

afterEach(() => {
  delete document.documentElement.dataset.theme;
});

describe("Settings", () => {
  it("shows the saved values, the default folder and the detected tools with their versions", async () => {
    mock({}, { ...saved, theme: "dark", notifications: false, start_minimised: true });
    render(<Settings onBack={vi.fn()} />);
    expect(await screen.findByTestId("settings-form")).toBeInTheDocument();
    expect(screen.getByTestId("settings-backup-dir")).toHaveValue("");
    expect(screen.getByTestId("settings-backup-dir-effective")).toHaveTextContent(
      "/home/ada/.local/share/offsite/backups/<project> (the default)",
    );
    expect(screen.getByTestId("settings-theme")).toHaveValue("dark");
    // "Stale after N days" is gone: what is overdue is the engine's health rule (docs/health.md).
    expect(screen.queryByTestId("settings-stale-days")).not.toBeInTheDocument();
    expect(screen.queryByText(/stale/i)).not.toBeInTheDocument();
    expect(screen.getByTestId("settings-notifications")).not.toBeChecked();
    expect(screen.getByTestId("settings-start-minimised")).toBeChecked();

    expect(screen.getByTestId("settings-pg-auto")).toBeChecked();
    const found = screen.getAllByTestId("settings-pg-found");
    expect(found).toHaveLength(2);
    expect(found[0]).toHaveTextContent("/usr/lib/postgresql/17/bin");
    // Plain words: the PostgreSQL version, the folder under it; the tool's own line only on hover.
    expect(found[0]).toHaveTextContent("PostgreSQL 17.2");
    expect(found[0]).not.toHaveTextContent("pg_dump (PostgreSQL)");
    expect(found[1]).toHaveTextContent("PostgreSQL 15.8");
    expect(screen.queryByTestId("settings-pg-outside")).not.toBeInTheDocument();
  });

  it("shows an About section with the versions the engine reports", async () => {
    const versions = { version: "0.1.0", archive_format: 2, archive_formats_read: [1, 2], catalog_schema: 9 };
    mock({ app_info: () => ({ ...info, versions }) });
    render(<Settings onBack={vi.fn()} />);
    const about = await screen.findByTestId("settings-about");
    expect(about).toHaveTextContent("About");
    expect(screen.getByTestId("about-version")).toHaveTextContent("Offsite 0.1.0");
    // Plain words first (issue 44): what it opens; the engine's format numbers behind Details.
    expect(screen.getByTestId("about-opens")).toHaveTextContent("Backups made by this version and by every earlier version of Offsite.");
    const shown = about.querySelector(":scope > dl.info");
    expect(shown).not.toHaveTextContent(/Archive format|Catalog schema/);
    expect(screen.getByTestId("about-technical")).not.toHaveAttribute("open");
    expect(screen.getByTestId("about-technical")).toContainElement(screen.getByTestId("about-archive-format"));
    expect(screen.getByTestId("about-archive-format")).toHaveTextContent("2 (reads 1, 2)");
    expect(screen.getByTestId("about-catalog-schema")).toHaveTextContent("9");
    expect(screen.getByTestId("about-data-dir")).toHaveTextContent("/home/ada/.local/share/offsite");
  });

  it("puts a select's label, the select and its hint on one line, centred, as the checkboxes above (issue 44: settings-*)", async () => {
    mock();
    render(<Settings onBack={vi.fn()} />);
    for (const id of ["settings-schedule-notifications", "settings-schedule-concurrency"]) {
      const label = (await screen.findByTestId(id)).closest("label")!;
      expect(label).toHaveClass("inline-select");
      expect(label.closest("fieldset")).toHaveClass("checks");
    }
    const css = readFileSync(resolve(__dirname, "../styles/forms.css"), "utf8");
    const rule = /\.checks label\.inline-select \{([^}]*)\}/.exec(css)?.[1] ?? "";
    expect(rule).toMatch(/align-items:\s*center/);
    // One gap scale: the same rule spaces a checkbox and its text, and a label and its select.
    expect(/\.checks label \{[^}]*gap:\s*8px/.test(css)).toBe(true);
    expect(rule).not.toMatch(/gap:/);
  });

  it("leaves the About section out when the app info cannot be read", async () => {
    mock({
      app_info: () => {
        throw { code: "io", message: "no", hint: null, retryable: false };
      },
    });
    render(<Settings onBack={vi.fn()} />);
    expect(await screen.findByTestId("settings-form")).toBeInTheDocument();
    expect(screen.queryByTestId("settings-about")).not.toBeInTheDocument();
  });

  it("selects the configured folder, and says when the command line or environment wins", async () => {
    mock(
      {},
      { ...saved, pg_bin: "/usr/lib/postgresql/15/bin", default_backup_dir: "/mnt/backups" },
      { ...tools, configured: "/opt/pg/bin", configured_outside: true },
    );
    render(<Settings onBack={vi.fn()} />);
    expect(await screen.findByTestId("settings-pg-option-15")).toBeChecked();
    expect(screen.getByTestId("settings-pg-outside")).toHaveTextContent("/opt/pg/bin");
    // Plain words: which tools are used now, and why (not "the tools Offsite was started with win").
    expect(screen.getByTestId("settings-pg-outside")).toHaveTextContent(
      "In use now: the PostgreSQL tools in /opt/pg/bin, the folder Offsite was started with",
    );
    expect(screen.getByTestId("settings-pg-outside")).toHaveTextContent("The choice below is saved");
    // Not a warning: nothing is wrong.
    expect(screen.getByTestId("settings-pg-outside")).not.toHaveClass("notice-warn");
    expect(screen.getByTestId("settings-pg-outside")).not.toHaveTextContent("win over");
    // The folder and the variable's name behind Details.
    expect(screen.getByTestId("settings-pg-outside-detail")).toHaveTextContent("OFFSITE_PG_BIN");
    expect(screen.getByTestId("settings-pg-outside-detail")).not.toHaveAttribute("open");
    expect(screen.getByTestId("settings-backup-dir")).toHaveValue("/mnt/backups");
    expect(screen.getByTestId("settings-backup-dir-effective")).toHaveTextContent("/mnt/backups/<project>");
  });

  it("shows a pg_bin that is not among the detected ones as a custom folder", async () => {
    mock({}, { ...saved, pg_bin: "/opt/custom/bin" });
    render(<Settings onBack={vi.fn()} />);
    expect(await screen.findByTestId("settings-pg-custom-radio")).toBeChecked();
    expect(screen.getByTestId("settings-pg-custom")).toHaveValue("/opt/custom/bin");
  });

  it("saves exactly the edited settings, shows that it saved and applies the theme", async () => {
    const calls = mock({ set_desktop_settings: (a) => a.settings });
    render(<Settings onBack={vi.fn()} />);
    await screen.findByTestId("settings-form");

    type("settings-backup-dir", "  /mnt/offsite  ");
    fireEvent.click(screen.getByTestId("settings-pg-option-15"));
    fireEvent.change(screen.getByTestId("settings-theme"), { target: { value: "dark" } });
    fireEvent.click(screen.getByTestId("settings-notifications"));
    fireEvent.click(screen.getByTestId("settings-start-minimised"));
    fireEvent.click(screen.getByTestId("settings-save"));

    expect(await screen.findByTestId("settings-saved")).toHaveTextContent("Saved");
    expect(calls.filter((c) => c.cmd === "set_desktop_settings").map((c) => c.args)).toEqual([
      {
        settings: {
          notifications: false,
          start_minimised: true,
          schedule_notifications: "always",
          schedule_concurrency: 1,
          theme: "dark",
          default_backup_dir: "/mnt/offsite",
          pg_bin: "/usr/lib/postgresql/15/bin",
          check_for_updates: true,
        },
      },
    ]);
    expect(document.documentElement.dataset.theme).toBe("dark");

    // Editing again clears the saved note.
    fireEvent.click(screen.getByTestId("settings-notifications"));
    expect(screen.queryByTestId("settings-saved")).not.toBeInTheDocument();
  });

  it("saves 'check for updates' with the other settings", async () => {
    const calls = mock({ set_desktop_settings: (a) => a.settings });
    render(<Settings onBack={vi.fn()} />);
    const box = await screen.findByTestId("settings-check-updates");
    expect(box).toBeChecked();
    fireEvent.click(box);
    fireEvent.click(screen.getByTestId("settings-save"));
    await screen.findByTestId("settings-saved");
    const sent = calls.find((c) => c.cmd === "set_desktop_settings")?.args.settings as DesktopSettings;
    expect(sent.check_for_updates).toBe(false);
  });

  it("saves 'Use default' and 'Search automatically' as null", async () => {
    const calls = mock(
      { set_desktop_settings: (a) => a.settings },
      { ...saved, default_backup_dir: "/mnt/b", pg_bin: "/usr/lib/postgresql/17/bin" },
    );
    render(<Settings onBack={vi.fn()} />);
    await screen.findByTestId("settings-form");
    fireEvent.click(screen.getByTestId("settings-backup-dir-default"));
    expect(screen.getByTestId("settings-backup-dir")).toHaveValue("");
    fireEvent.click(screen.getByTestId("settings-pg-auto"));
    fireEvent.click(screen.getByTestId("settings-save"));
    await screen.findByTestId("settings-saved");
    const sent = calls.find((c) => c.cmd === "set_desktop_settings")?.args.settings as DesktopSettings;
    expect(sent.default_backup_dir).toBeNull();
    expect(sent.pg_bin).toBeNull();
  });

  it.each(["invalid_input", "tool_missing", "io"])("shows a %s error and keeps what was typed", async (code) => {
    mock({
      set_desktop_settings: () =>
        Promise.reject({ code, message: `message for ${code}`, hint: "a hint", retryable: false }),
    });
    render(<Settings onBack={vi.fn()} />);
    await screen.findByTestId("settings-form");
    fireEvent.click(screen.getByTestId("settings-pg-custom-radio"));
    type("settings-pg-custom", "/nowhere/bin");
    type("settings-backup-dir", "/read-only");
    fireEvent.change(screen.getByTestId("settings-theme"), { target: { value: "light" } });
    fireEvent.click(screen.getByTestId("settings-save"));

    const error = await screen.findByTestId("settings-error");
    expect(error).toHaveAttribute("data-code", code);
    expect(screen.getByTestId("settings-error-message")).toHaveTextContent(`message for ${code}`);
    expect(screen.getByTestId("settings-error-hint")).toHaveTextContent("a hint");
    expect(screen.getByTestId("settings-pg-custom")).toHaveValue("/nowhere/bin");
    expect(screen.getByTestId("settings-pg-custom-radio")).toBeChecked();
    expect(screen.getByTestId("settings-backup-dir")).toHaveValue("/read-only");
    expect(screen.getByTestId("settings-theme")).toHaveValue("light");
    expect(screen.queryByTestId("settings-saved")).not.toBeInTheDocument();
    // Nothing was saved, so nothing changes app-wide.
    expect(document.documentElement.dataset.theme).toBeUndefined();
  });

  it("puts the chosen folder in the field; a cancelled dialog leaves it", async () => {
    let answer: string | null = "/media/usb/offsite";
    const calls = mock({ pick_path: () => answer });
    render(<Settings onBack={vi.fn()} />);
    await screen.findByTestId("settings-form");

    fireEvent.click(screen.getByTestId("settings-backup-dir-choose"));
    await waitFor(() => expect(screen.getByTestId("settings-backup-dir")).toHaveValue("/media/usb/offsite"));
    expect(calls.find((c) => c.cmd === "pick_path")?.args).toEqual({ kind: "folder", title: "Default backup folder" });

    answer = null;
    fireEvent.click(screen.getByTestId("settings-backup-dir-choose"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "pick_path")).toHaveLength(2));
    expect(screen.getByTestId("settings-backup-dir")).toHaveValue("/media/usb/offsite");

    answer = "/opt/pg16/bin";
    fireEvent.click(screen.getByTestId("settings-pg-choose"));
    await waitFor(() => expect(screen.getByTestId("settings-pg-custom")).toHaveValue("/opt/pg16/bin"));
    expect(screen.getByTestId("settings-pg-custom-radio")).toBeChecked();
    // The app's words, not the tools' names (issue 44): the dialog's title and the field's name.
    expect(calls.filter((c) => c.cmd === "pick_path").at(-1)?.args).toEqual({ kind: "folder", title: "Folder of the PostgreSQL tools" });
    expect(screen.getByTestId("settings-pg-custom")).toHaveAttribute("aria-label", "Folder of the PostgreSQL tools");
  });

  it("shows a load error with retry", async () => {
    mock({
      get_desktop_settings: () => Promise.reject({ code: "io", message: "cannot read", hint: null, retryable: true }),
    });
    const onBack = vi.fn();
    render(<Settings onBack={onBack} />);
    const error = await screen.findByTestId("settings-load-error");
    expect(error).toHaveAttribute("data-code", "io");
    expect(within(error).getByTestId("settings-load-error-retry")).toBeInTheDocument();
    fireEvent.click(screen.getByTestId("settings-back"));
    expect(onBack).toHaveBeenCalledOnce();
  });

  it("builds paths and settings from the form", () => {
    expect(joinPath("/a/b/", "backups", "<project>")).toBe("/a/b/backups/<project>");
    expect(joinPath("C:\\Users\\ada\\offsite", "backups")).toBe("C:\\Users\\ada\\offsite\\backups");
    const draft = {
      notifications: true,
      start_minimised: false,
      schedule_notifications: "always" as const,
      schedule_concurrency: 1,
      theme: "system" as const,
      default_backup_dir: " ",
      pg_choice: "custom",
      pg_custom: " ",
      check_for_updates: true,
    };
    expect(fromDraft(draft)).toEqual({ settings: saved });
  });
});

describe("Settings: PostgreSQL tools", () => {
  it("one choice per version: a second folder with the same tools is named under the first (issue 44: PostgreSQL 15.18 twice)", async () => {
    const v15 = { version_line: "pg_dump (PostgreSQL) 15.18", major: 15, minor: 18 };
    mock({}, saved, { configured: null, configured_outside: false, found: [{ dir: "/usr/lib/postgresql/15/bin", ...v15 }, { dir: "/usr/bin", ...v15 }] });
    render(<Settings onBack={vi.fn()} />);
    await waitFor(() => expect(screen.getAllByTestId("settings-pg-found")).toHaveLength(1));
    expect(screen.getByTestId("settings-pg-found")).toHaveTextContent("/usr/lib/postgresql/15/bin");
    expect(screen.getByTestId("settings-pg-also")).toHaveTextContent("the same version is also in /usr/bin");
  });

  it("a saved choice stays a choice of its own", () => {
    const v = { version_line: "pg_dump (PostgreSQL) 15.18", major: 15, minor: 18 };
    const found = [{ dir: "/a", ...v }, { dir: "/b", ...v }, { dir: "/c", ...v, version_line: "pg_dump (PostgreSQL) 17.1", major: 17 }];
    expect(toolChoices(found, "auto").map((c) => [c.tools.dir, c.also])).toEqual([["/a", ["/b"]], ["/c", []]]);
    expect(toolChoices(found, "/b").map((c) => [c.tools.dir, c.also])).toEqual([["/b", ["/a"]], ["/c", []]]);
  });
});

describe("Settings: schedules", () => {
  it("under the unticked 'Start Offsite when I log in': which projects' schedules need it (issue 44)", async () => {
    mock({ health: () => overview([protectedHealth("shop", { schedule: "daily 02:30", paused: false }), protectedHealth("crm", { schedule: null })]) });
    render(<Settings onBack={vi.fn()} />);
    expect(await screen.findByTestId("settings-autostart-schedules")).toHaveTextContent(
      "shop has a schedule: schedules run only while Offsite runs",
    );
    fireEvent.click(screen.getByTestId("settings-autostart"));
    expect(screen.queryByTestId("settings-autostart-schedules")).toBeNull();
  });

  it("saves everything with the one Save: starting at login and the encryption of new projects too, nothing on change", async () => {
    const calls = mock({
      set_autostart: (a) => a.on,
      set_default_encryption: (a) => a.mode,
      set_desktop_settings: (a) => a.settings,
    });
    render(<Settings onBack={vi.fn()} />);
    const box = await screen.findByTestId("settings-autostart");
    await waitFor(() => expect(box).not.toBeDisabled());
    expect(box).not.toBeChecked();
    fireEvent.click(box);
    expect(box).toBeChecked();
    await waitFor(() => expect(screen.getByTestId("default-encryption-mode")).not.toBeDisabled());
    type("default-encryption-mode", "key");
    type("settings-schedule-notifications", "failures");
    // Nothing is saved before Save.
    expect(calls.some((c) => ["set_autostart", "set_default_encryption", "set_desktop_settings"].includes(c.cmd))).toBe(false);
    // One Save button on the whole screen.
    expect(screen.getAllByRole("button", { name: /^Save$/ })).toHaveLength(1);
    fireEvent.click(screen.getByTestId("settings-save"));
    expect(await screen.findByTestId("settings-saved")).toBeInTheDocument();
    expect(calls.filter((c) => c.cmd === "set_autostart").map((c) => c.args)).toEqual([{ on: true }]);
    expect(calls.filter((c) => c.cmd === "set_default_encryption").map((c) => c.args)).toEqual([{ mode: "key" }]);
    const sent = calls.find((c) => c.cmd === "set_desktop_settings")!.args.settings as DesktopSettings;
    expect(sent.schedule_notifications).toBe("failures");
    // Saved again unchanged: only the desktop settings are written.
    fireEvent.click(screen.getByTestId("settings-save"));
    await waitFor(() => expect(calls.filter((c) => c.cmd === "set_desktop_settings")).toHaveLength(2));
    expect(calls.filter((c) => c.cmd === "set_autostart")).toHaveLength(1);
  });

  it("says why starting at login cannot be turned on, and keeps the choice to try again", async () => {
    mock({
      set_desktop_settings: (a) => a.settings,
      set_autostart: () => {
        throw { code: "io", message: "starting at login is not available here", hint: null, retryable: false };
      },
    });
    render(<Settings onBack={vi.fn()} />);
    const box = await screen.findByTestId("settings-autostart");
    await waitFor(() => expect(box).not.toBeDisabled());
    fireEvent.click(box);
    fireEvent.click(screen.getByTestId("settings-save"));
    expect(await screen.findByTestId("settings-autostart-error")).toHaveTextContent("not available");
    expect(screen.queryByTestId("settings-saved")).toBeNull();
  });
});
