import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { Components, StorageTestReport } from "../bindings";
import { StoreProvider } from "../store";
import { ComponentsSection } from "./ComponentsSection";

type Call = { cmd: string; args: Record<string, unknown> };
type Extra = Record<string, (args: Record<string, unknown>) => unknown>;

const withStorage: Components = {
  storage: {
    endpoint: "https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3",
    region: "eu-central-1",
    access_key_id: "AKIDSHOP",
    path_style: true,
    buckets: { kind: "only", names: ["avatars", "docs"] },
    concurrency: null,
  },
  supabase: null,
  default_type: null,
};

function setup(initial: Components, extra: Extra = {}) {
  const calls: Call[] = [];
  let current = initial;
  mockIPC((cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    const handler = extra[cmd];
    if (handler) return handler(a);
    switch (cmd) {
      case "get_components":
        return current;
      case "set_storage":
        current = { ...current, storage: a.settings ? (withStorage.storage ?? null) : null };
        return current;
      case "set_supabase":
        current = {
          ...current,
          supabase: a.settings ? { project_ref: (a.settings as { project_ref: string }).project_ref, api_url: null } : null,
        };
        return current;
      case "set_default_backup_type":
        current = { ...current, default_type: a.backupType as string };
        return current;
      default:
        throw new Error(`unexpected command ${cmd}`);
    }
  });
  render(
    <StoreProvider>
      <ComponentsSection project="shop" />
    </StoreProvider>,
  );
  return calls;
}

describe("ComponentsSection", () => {
  it("shows the storage as saved, its secret only as kept in the keychain", async () => {
    setup(withStorage);
    expect(await screen.findByTestId("components-storage-endpoint")).toHaveTextContent(
      "https://abcdefghijklmnopqrst.storage.supabase.co/storage/v1/s3",
    );
    expect(screen.getByTestId("components-storage-region")).toHaveTextContent("eu-central-1");
    expect(screen.getByTestId("components-storage-key-id")).toHaveTextContent("AKIDSHOP");
    expect(screen.getByTestId("components-storage-buckets")).toHaveTextContent("avatars, docs");
    expect(screen.getByTestId("components-storage-secret")).toHaveTextContent("stored in the keychain");
    expect(screen.getByTestId("components-supabase-none")).toBeInTheDocument();
  });

  it("adds storage: the secret goes in once, the bucket list as names", async () => {
    const calls = setup({ storage: null, supabase: null, default_type: null });
    fireEvent.click(await screen.findByTestId("components-storage-edit"));
    const form = screen.getByTestId("components-storage-form");
    // Its button is not left above the open form; the form has its title (issue 44).
    expect(screen.queryByTestId("components-storage-edit")).not.toBeInTheDocument();
    expect(screen.getByTestId("components-form-title")).toHaveTextContent("Add storage");
    fireEvent.change(within(form).getByTestId("components-field-endpoint"), { target: { value: " http://127.0.0.1:9000 " } });
    fireEvent.change(within(form).getByTestId("components-field-key-id"), { target: { value: "AKIDSHOP" } });
    const secret = within(form).getByTestId("components-field-secret");
    expect(secret).toHaveAttribute("type", "password");
    fireEvent.change(secret, { target: { value: "s3cret" } });
    fireEvent.click(within(form).getByTestId("components-buckets-only"));
    fireEvent.change(within(form).getByTestId("components-field-buckets"), { target: { value: "avatars, docs,avatars" } });
    fireEvent.click(within(form).getByTestId("components-storage-save"));
    await waitFor(() => expect(calls.some((c) => c.cmd === "set_storage")).toBe(true));
    expect(calls.find((c) => c.cmd === "set_storage")?.args).toEqual({
      project: "shop",
      settings: {
        endpoint: "http://127.0.0.1:9000",
        region: "us-east-1",
        access_key_id: "AKIDSHOP",
        secret_access_key: "s3cret",
        path_style: true,
        buckets: { kind: "only", names: ["avatars", "docs"] },
        concurrency: null,
      },
    });
    expect(await screen.findByTestId("components-notice")).toHaveTextContent("Storage saved");
    expect(screen.queryByTestId("components-storage-form")).not.toBeInTheDocument();
    expect(await screen.findByTestId("components-storage-key-id")).toHaveTextContent("AKIDSHOP");
  });

  it("an empty secret keeps the stored one; a refusal stays in the form", async () => {
    const calls = setup(withStorage, {
      set_storage: () =>
        Promise.reject({ code: "invalid_input", message: "the endpoint is not a URL", hint: "use https://…", retryable: false }),
    });
    fireEvent.click(await screen.findByTestId("components-storage-edit"));
    const form = screen.getByTestId("components-storage-form");
    expect(within(form).getByTestId("components-field-region")).toHaveValue("eu-central-1");
    expect(within(form).getByTestId("components-field-buckets")).toHaveValue("avatars, docs");
    expect(within(form).getByTestId("components-field-secret")).toHaveValue("");
    fireEvent.click(within(form).getByTestId("components-buckets-all"));
    fireEvent.click(within(form).getByTestId("components-storage-save"));
    const error = await screen.findByTestId("components-storage-error");
    expect(error).toHaveAttribute("data-code", "invalid_input");
    const sent = calls.find((c) => c.cmd === "set_storage")?.args.settings as Record<string, unknown>;
    expect(sent.secret_access_key).toBeNull();
    expect(sent.buckets).toEqual({ kind: "all" });
    expect(screen.getByTestId("components-storage-form")).toBeInTheDocument();
  });

  it("removes the storage after asking once more", async () => {
    const calls = setup(withStorage);
    fireEvent.click(await screen.findByTestId("components-storage-remove"));
    expect(screen.getByTestId("components-remove-confirm")).toHaveTextContent("secret access key");
    fireEvent.click(screen.getByTestId("components-remove-no"));
    expect(screen.queryByTestId("components-remove-confirm")).not.toBeInTheDocument();
    expect(calls.some((c) => c.cmd === "set_storage")).toBe(false);
    fireEvent.click(screen.getByTestId("components-storage-remove"));
    fireEvent.click(screen.getByTestId("components-remove-yes"));
    await waitFor(() => expect(calls.find((c) => c.cmd === "set_storage")?.args).toEqual({ project: "shop", settings: null }));
    expect(await screen.findByTestId("components-storage-none")).toBeInTheDocument();
  });

  it("tests the storage: buckets with counts, sizes and readability, and the missing ones", async () => {
    const report: StorageTestReport = {
      endpoint: "http://127.0.0.1:9000",
      buckets: [
        { name: "avatars", objects: 1234, bytes: 5 * 1024 * 1024, complete: true, readable: true, error: null },
        { name: "docs", objects: 100000, bytes: 2048, complete: false, readable: false, error: null },
        { name: "empty", objects: 0, bytes: 0, complete: true, readable: null, error: null },
      ],
      missing: ["gone"],
    };
    setup(withStorage, { test_storage: () => report });
    fireEvent.click(await screen.findByTestId("components-test"));
    const shown = await screen.findByTestId("components-test-report");
    expect(shown).toHaveAttribute("data-ok", "false");
    const rows = within(shown).getAllByTestId("components-test-row");
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent("avatars1,2345.0 MByes");
    expect(rows[1]).toHaveTextContent("100,000+");
    expect(rows[1]).toHaveTextContent("no");
    expect(rows[2]).toHaveTextContent("empty");
    expect(screen.getByTestId("components-test-missing")).toHaveTextContent("gone");
  });

  it("says what to check when the keys are refused", async () => {
    setup(withStorage, {
      test_storage: () => Promise.reject({ code: "auth", message: "InvalidAccessKeyId", hint: null, retryable: false }),
    });
    fireEvent.click(await screen.findByTestId("components-test"));
    const error = await screen.findByTestId("components-test-error");
    expect(error).toHaveAttribute("data-code", "auth");
    expect(error).toHaveTextContent("InvalidAccessKeyId");
    expect(screen.getByTestId("components-test-error-hint")).toHaveTextContent("access key id");
  });

  it("sets the default type; types the project cannot make are disabled with why", async () => {
    const calls = setup(withStorage);
    const select = await screen.findByTestId("components-default-type");
    expect(select).toHaveValue("database");
    const config = select.querySelector("option[value=config]") as HTMLOptionElement;
    expect(config.disabled).toBe(true);
    expect(config.title).toMatch(/Supabase ref/);
    expect((select.querySelector("option[value=incremental]") as HTMLOptionElement).disabled).toBe(false);
    fireEvent.change(select, { target: { value: "full" } });
    await waitFor(() =>
      expect(calls.find((c) => c.cmd === "set_default_backup_type")?.args).toEqual({ project: "shop", backupType: "full" }),
    );
    await waitFor(() => expect(screen.getByTestId("components-default-type")).toHaveValue("full"));
  });

  it("adds the Supabase project with its token, then shows the ref only", async () => {
    const calls = setup({ storage: null, supabase: null, default_type: null });
    expect(
      ((await screen.findByTestId("components-default-type")).querySelector("option[value=storage]") as HTMLOptionElement)
        .disabled,
    ).toBe(true);
    fireEvent.click(screen.getByTestId("components-supabase-edit"));
    fireEvent.change(screen.getByTestId("components-field-ref"), { target: { value: "abcdefghijklmnopqrst" } });
    fireEvent.change(screen.getByTestId("components-field-token"), { target: { value: "sbp_secret" } });
    fireEvent.click(screen.getByTestId("components-supabase-save"));
    expect(await screen.findByTestId("components-supabase-ref")).toHaveTextContent("abcdefghijklmnopqrst");
    expect(calls.find((c) => c.cmd === "set_supabase")?.args).toEqual({
      project: "shop",
      settings: { project_ref: "abcdefghijklmnopqrst", api_url: null, access_token: "sbp_secret" },
    });
    expect(screen.getByTestId("components-section")).not.toHaveTextContent("sbp_secret");
    expect(screen.getByTestId("components-supabase-token")).toHaveTextContent("stored in the keychain");
  });
});
