import { render, screen, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { ParityReport } from "../../bindings";
import { ParitySection } from "./ParitySection";

const report: ParityReport = {
  parts: [
    {
      part: "auth-users",
      name: "Auth users, password hashes and identities",
      verdict: "equal",
      evidence: "rows",
      compared: "2 tables, 5 rows",
      differences: [],
      note: null,
      absent_in_target: false,
    },
    {
      part: "publications",
      name: "Publications (Realtime)",
      verdict: "differs",
      evidence: "objects",
      compared: "2 items",
      differences: ["missing in the target: profiles_feed: public.profiles"],
      note: null,
      absent_in_target: false,
    },
    {
      part: "pgmq",
      name: "pgmq queues",
      verdict: "not_compared",
      evidence: "objects",
      compared: "nothing",
      differences: [],
      note: "the backup could not read it: permission denied",
      absent_in_target: false,
    },
  ],
  equal: false,
  note: null,
};

describe("ParitySection", () => {
  it("says each part's result and what differs by name", () => {
    render(<ParitySection parity={report} />);
    expect(screen.getByTestId("wizard-report-parity-summary")).toHaveTextContent("1 of 3 parts differ from the backup’s source.");
    const rows = screen.getAllByTestId("wizard-report-parity-part");
    expect(rows.map((r) => r.getAttribute("data-verdict"))).toEqual(["equal", "differs", "not_compared"]);
    expect(within(rows[1]!).getByText("missing in the target: profiles_feed: public.profiles")).toBeInTheDocument();
    expect(rows[2]).toHaveTextContent("Not compared");
    expect(rows[2]).toHaveTextContent("permission denied");
  });

  it("shows a part compared by its rows and by its objects on two lines, and Storage's files", () => {
    const part = (evidence: "rows" | "objects" | "files", id: string, compared: string) => ({
      part: id,
      name: id,
      verdict: "equal" as const,
      evidence,
      compared,
      differences: [],
      note: null,
      absent_in_target: false,
    });
    render(
      <ParitySection
        parity={{
          parts: [
            part("rows", "storage-schema", "2 tables, 7 rows"),
            part("objects", "storage-schema", "2 items"),
            part("files", "storage-objects", "12 objects in 1 bucket (key, size, checksum)"),
          ],
          equal: true,
          note: null,
        }}
      />,
    );
    const rows = screen.getAllByTestId("wizard-report-parity-part");
    expect(rows.map((r) => r.getAttribute("data-evidence"))).toEqual(["rows", "objects", "files"]);
    expect(rows[2]).toHaveTextContent("12 objects in 1 bucket (key, size, checksum)");
  });

  it("says when nothing could be compared, and why", () => {
    render(<ParitySection parity={{ parts: [], equal: true, note: "the parity check could not run: connection refused" }} />);
    expect(screen.getByTestId("wizard-report-parity-summary")).toHaveTextContent(
      "Not compared with the backup’s source. The parity check could not run: connection refused.",
    );
    expect(screen.queryAllByTestId("wizard-report-parity-part")).toHaveLength(0);
  });
});
