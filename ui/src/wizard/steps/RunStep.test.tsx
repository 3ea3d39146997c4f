import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { RunStep } from "./RunStep";

function running(oneTransaction: boolean | null, onlyDatabase = true) {
  render(
    <RunStep
      progress={null}
      startedAt={Date.now()}
      cancelling={false}
      canCancel={true}
      onCancel={() => {}}
      onlyDatabase={onlyDatabase}
      oneTransaction={oneTransaction}
    />,
  );
  return screen.getByTestId("wizard-cancel-promise").textContent ?? "";
}

describe("the running step promises what the plan says (issue 41)", () => {
  it("one transaction: a cancel leaves the target as it was", () => {
    const text = running(true);
    expect(text).toContain("runs in one transaction");
    expect(text).toContain("leaves the target as it was");
  });

  it("a parallel restore (pg_restore -j) is not one transaction and says a cancel drops what it created (issue 42)", () => {
    const text = running(false);
    expect(text).not.toContain("leaves the target as it was");
    expect(text).not.toMatch(/runs in one transaction/);
    expect(text).toContain("not one transaction");
    expect(text).toContain("drops what it created");
  });

  it("with storage or configuration too, the database's part says the same", () => {
    expect(running(true, false)).toContain("the database's part runs in one transaction");
  });

  it("with storage or configuration too, a parallel database part is not promised to roll back", () => {
    const text = running(false, false);
    expect(text).not.toContain("runs in one transaction");
    expect(text).toContain("drops what it created");
  });

  it("without a database part, no transaction is promised", () => {
    const text = running(null, false);
    expect(text).not.toContain("transaction");
    expect(text).toContain("already written stay");
  });
});

describe("the restore's bar shows the same fraction as its text (issue 44, restore-05)", () => {
  const base = { phase: "restoring", component: null, bytes_per_sec: null } as const;
  function bar(bytesDone: number, bytesTotal: number | null) {
    render(
      <RunStep
        progress={{ ...base, job_id: "j", bytes_done: bytesDone, bytes_total: bytesTotal } as never}
        startedAt={Date.now()}
        cancelling={false}
        canCancel={true}
        onCancel={() => {}}
        oneTransaction={true}
      />,
    );
    return { bar: screen.getByTestId("wizard-progress"), text: screen.getByTestId("wizard-bytes").textContent ?? "" };
  }

  it("a known size but nothing done yet: an indeterminate bar, no '0 %' and the elapsed time", () => {
    const { bar: b, text } = bar(0, 4_000_000);
    expect(b).toHaveClass("progress-indeterminate");
    expect(b).not.toHaveAttribute("aria-valuenow");
    expect(text).not.toContain("%");
    expect(text).toContain("3.8 MB");
    expect(screen.getByTestId("wizard-elapsed")).toHaveTextContent(/Running for (under 1 s|\d+ s)/);
  });

  it("bytes done: the fill's width is the text's percent", () => {
    const { bar: b, text } = bar(1_000_000, 4_000_000);
    expect(b).not.toHaveClass("progress-indeterminate");
    expect(b).toHaveAttribute("aria-valuenow", "25");
    expect(text).toContain("(25%)");
    expect((b.firstElementChild as HTMLElement).style.width).toBe("25%");
  });
});
