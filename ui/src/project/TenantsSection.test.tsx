import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it, vi } from "vitest";
import type { TenantDetail } from "../bindings";
import { type TenantsApi, TenantsSection } from "./TenantsSection";

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });
const refused = (message: string) => Promise.resolve({ ok: false as const, error: { code: "invalid_input" as const, message, hint: null, retryable: false } });
const none = { add: vi.fn(), remove: vi.fn(), backUp: vi.fn() };

const detail: TenantDetail = {
  tenant: { name: "org", schema: "public", table: "orgs", key: "id", created_at: "2026-11-25T10:00:00Z", member_writes: [] },
  shape: {
    root: { schema: "public", table: "orgs", key: "id" },
    reached: [
      { schema: "public", table: "orgs", path: [] },
      { schema: "public", table: "projects", path: ["projects(org_id) → orgs(id)"] },
    ],
    referenced: [{ schema: "public", table: "users", path: ["orgs(owner_id) → users(id)"] }],
    not_reached: ["public.audit"],
  },
};

describe("TenantsSection", () => {
  it("lists the roots and shows the tables reached with their path, and those not reached", async () => {
    const api: TenantsApi = { ...none, list: vi.fn(() => ok([detail.tenant])), show: vi.fn(() => ok(detail)) };
    render(<TenantsSection project="shop" api={api} />);
    expect(await screen.findByTestId("tenant")).toHaveTextContent("public.orgs.id");
    fireEvent.click(screen.getByTestId("tenant-show"));
    await screen.findByTestId("tenant-shape");
    expect(api.show).toHaveBeenCalledWith("shop", "org");
    const reached = screen.getAllByTestId("tenant-reached-table");
    expect(reached.map((r) => r.getAttribute("data-table"))).toEqual(["public.orgs", "public.projects"]);
    expect(reached[0]).toHaveTextContent("(the root)");
    expect(reached[1]).toHaveTextContent("via projects(org_id) → orgs(id)");
    expect(screen.getByTestId("tenant-referenced")).toHaveTextContent("public.users");
    expect(screen.getByTestId("tenant-not-reached")).toHaveTextContent("public.audit");
  });

  it("keeps a root's buttons together on one line (recover-tenants-05: Remove dropped onto its own line)", async () => {
    const api: TenantsApi = { ...none, list: vi.fn(() => ok([detail.tenant])), show: vi.fn(() => ok(detail)) };
    render(<TenantsSection project="shop" api={api} />);
    await screen.findByTestId("tenant");
    const group = screen.getByTestId("tenant-actions");
    expect(Array.from(group.children).map((b) => b.getAttribute("data-testid"))).toEqual(["tenant-show", "tenant-backup", "tenant-remove"]);
    const css = readFileSync(resolve(__dirname, "tabs/tabs.css"), "utf8");
    const at = css.indexOf(".tenant-actions {");
    const body = css.slice(at, css.indexOf("}", at));
    expect(body).toContain("display: inline-flex");
    expect(body).toContain("flex-wrap: nowrap");
    expect(css).toMatch(/\.tenant-list \{[^}]*list-style: none/);
  });

  it("says how to name a tenant when there is none, and names one here: checked by the engine, then listed with its tables", async () => {
    let listed: (typeof detail.tenant)[] = [];
    const api: TenantsApi = {
      ...none,
      list: vi.fn(() => ok(listed)),
      show: vi.fn(),
      add: vi.fn((_p: string, name: string, table: string) => {
        if (table !== "public.orgs") return refused(`table ${table} does not exist`);
        listed = [{ ...detail.tenant, name }];
        return ok(detail);
      }),
    };
    render(<TenantsSection project="shop" api={api} />);
    expect(await screen.findByTestId("tenants-none")).toHaveTextContent("offsite tenant add shop NAME --table SCHEMA.TABLE --key COLUMN");
    const save = screen.getByTestId("tenant-add-save");
    expect(save).toBeDisabled();
    fireEvent.change(screen.getByTestId("tenant-field-name"), { target: { value: " org " } });
    fireEvent.change(screen.getByTestId("tenant-field-table"), { target: { value: "public.nope" } });
    fireEvent.click(save);
    expect(await screen.findByTestId("tenant-add-error")).toHaveTextContent("public.nope does not exist");
    expect(screen.queryByTestId("tenant")).toBeNull();
    fireEvent.change(screen.getByTestId("tenant-field-table"), { target: { value: "public.orgs" } });
    fireEvent.click(save);
    expect(await screen.findByTestId("tenant")).toHaveTextContent("public.orgs.id");
    expect(api.add).toHaveBeenLastCalledWith("shop", "org", "public.orgs", "id");
    expect(screen.getByTestId("tenant-shape")).toHaveTextContent("public.projects");
  });

  it("backs up each tenant as a job, says when it cannot, and removes a root", async () => {
    let listed = [detail.tenant];
    const api: TenantsApi = {
      list: vi.fn(() => ok(listed)),
      show: vi.fn(),
      add: vi.fn(),
      backUp: vi.fn()
        .mockReturnValueOnce(Promise.resolve({ ok: false as const, error: { code: "not_found" as const, message: "no good backup of shop", hint: "take one first", retryable: false } }))
        .mockReturnValueOnce(Promise.resolve({ ok: true as const })),
      remove: vi.fn(() => {
        listed = [];
        return ok(null);
      }),
    };
    render(<TenantsSection project="shop" api={api} />);
    fireEvent.click(await screen.findByTestId("tenant-backup"));
    expect(await screen.findByTestId("tenant-action-error")).toHaveTextContent("no good backup of shop");
    fireEvent.click(screen.getByTestId("tenant-backup"));
    expect(await screen.findByTestId("tenant-backup-started")).toBeInTheDocument();
    expect(api.backUp).toHaveBeenLastCalledWith("shop", "org");
    fireEvent.click(screen.getByTestId("tenant-remove"));
    await waitFor(() => expect(screen.getByTestId("tenants-none")).toBeInTheDocument());
    expect(api.remove).toHaveBeenCalledWith("shop", "org");
  });
});
