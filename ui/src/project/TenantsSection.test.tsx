import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import type { TenantDetail } from "../bindings";
import { type TenantsApi, TenantsSection } from "./TenantsSection";

const ok = <T,>(data: T) => Promise.resolve({ ok: true as const, data });

const detail: TenantDetail = {
  tenant: { name: "org", schema: "public", table: "orgs", key: "id", created_at: "2026-11-25T10:00:00Z" },
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
    const api: TenantsApi = { list: vi.fn(() => ok([detail.tenant])), show: vi.fn(() => ok(detail)) };
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

  it("says how to name a tenant when there is none", async () => {
    render(<TenantsSection project="shop" api={{ list: () => ok([]), show: vi.fn() }} />);
    expect(await screen.findByTestId("tenants-none")).toHaveTextContent("offsite tenant add shop NAME --table SCHEMA.TABLE --key COLUMN");
  });
});
