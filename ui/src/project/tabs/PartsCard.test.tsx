import { mockIPC } from "@tauri-apps/api/mocks";
import { fireEvent, render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ProjectPart, ProjectParts } from "../../bindings";
import { PartsCard, partsSummary } from "./PartsCard";

const part = (id: string, over: Partial<ProjectPart> = {}): ProjectPart => ({
  id,
  name: id,
  source: `where ${id} lives`,
  needs: "database",
  captured: "yes",
  capture: `how ${id} is captured`,
  restored: "yes",
  restore: `how ${id} is restored`,
  check: `how ${id} is checked`,
  applies: true,
  note: null,
  ...over,
});

const supabase: ProjectParts = {
  project: "shop",
  kind: "supabase",
  parts: [
    part("Tables and rows"),
    part("Auth users", { needs: "supabase_database" }),
    part("Function secrets", { needs: "management_api", captured: "partly", restored: "no" }),
    part("Vault root key", { needs: "management_api", captured: "not_exposed", restored: "not_exposed" }),
    part("Storage objects", {
      needs: "storage",
      note: "not set up: give the project's storage (offsite project components shop --s3-endpoint URL --s3-key-id ID --s3-secret-stdin)",
    }),
  ],
};

const postgres: ProjectParts = {
  project: "shop",
  kind: "postgres",
  parts: [
    part("Tables and rows"),
    part("Auth users", { needs: "supabase_database", applies: false, note: "does not apply: not a Supabase project" }),
    part("Edge Functions", { needs: "management_api", applies: false, note: "does not apply: not a Supabase project" }),
  ],
};

function show(answer: () => unknown) {
  mockIPC((cmd) => {
    if (cmd === "project_parts") return answer();
    return null;
  });
  render(<PartsCard project="shop" />);
}

describe("PartsCard: what a backup carries, from the engine's table", () => {
  it("counts what is carried, put back, by hand, and not set up", () => {
    expect(partsSummary(supabase)).toBe(
      "5 parts of this Supabase project: 2 carried and put back by a restore, 1 carried, put back by hand, 1 not carried, 1 not set up.",
    );
    expect(partsSummary(postgres)).toBe("1 part of this PostgreSQL project: 1 carried and put back by a restore.");
  });

  it("shows each part with its coverage, says where to set up what is not, and keeps the CLI's command off the screen", async () => {
    show(() => supabase);
    expect(await screen.findByTestId("source-parts-summary")).toHaveTextContent("5 parts of this Supabase project");
    expect(screen.getByTestId("source-part-Function secrets-captured")).toHaveTextContent("Partly");
    expect(screen.getByTestId("source-part-Function secrets-restored")).toHaveTextContent("No");
    expect(screen.getByTestId("source-part-Vault root key-captured")).toHaveTextContent("Not given out");
    const storage = screen.getByTestId("source-part-Storage objects");
    expect(storage).toHaveAttribute("data-set-up", "no");
    expect(storage).toHaveTextContent("not set up. Add the project's storage in Storage & Supabase above.");
    expect(screen.getByTestId("source-parts")).not.toHaveTextContent("offsite project components");
    // How each is captured, restored and checked: behind "How".
    const how = within(screen.getByTestId("source-part-Auth users")).getByText("How");
    fireEvent.click(how);
    expect(screen.getByTestId("source-part-Auth users")).toHaveTextContent("how Auth users is checked");
    expect(screen.queryByTestId("source-parts-others")).toBeNull();
  });

  it("folds away the parts that do not apply, saying why", async () => {
    show(() => postgres);
    const others = await screen.findByTestId("source-parts-others");
    expect(others).toHaveTextContent("Not for this project (2): not a Supabase project");
    expect(others).toHaveTextContent("Auth users · Edge Functions");
    expect(screen.queryByTestId("source-part-Auth users")).toBeNull();
  });

  it("shows the engine's refusal", async () => {
    show(() => Promise.reject({ code: "not_found", message: "no project named shop", hint: null, retryable: false }));
    expect(await screen.findByTestId("source-parts-error")).toHaveTextContent("no project named shop");
  });
});
