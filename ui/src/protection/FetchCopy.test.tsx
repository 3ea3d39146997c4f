import { fireEvent, render, screen } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { FetchCopy, fetchable } from "./FetchCopy";
import type { CopyView } from "./types";

const copies: CopyView[] = [
  { destination: "nas", kind: "folder", state: "stored", verified: true, at: "2026-11-24T09:01:00Z", problem: null },
  { destination: "b2", kind: "s3", state: "pending", verified: false, at: "2026-11-24T09:00:00Z", problem: null },
];

describe("FetchCopy", () => {
  it("offers only copies that are there, and says which it fetches", () => {
    const onFetch = vi.fn();
    const { rerender } = render(<FetchCopy copies={copies} state={{ status: "idle" }} onFetch={onFetch} />);
    const buttons = screen.getAllByTestId("fetch-copy-from");
    expect(buttons.map((b) => b.textContent)).toEqual(["Fetch from nas"]);
    fireEvent.click(buttons[0]!);
    expect(onFetch).toHaveBeenCalledWith("nas");
    rerender(
      <FetchCopy copies={copies} state={{ status: "fetching", destination: "nas", bytesDone: 1024, bytesTotal: 2048 }} onFetch={onFetch} />,
    );
    expect(screen.getByTestId("fetch-copy-from")).toBeDisabled();
    expect(screen.getByTestId("fetch-copy-progress")).toHaveTextContent("1.0 KB of 2.0 KB");
    rerender(<FetchCopy copies={copies} state={{ status: "done", destination: "nas" }} onFetch={onFetch} />);
    expect(screen.queryByTestId("fetch-copy-from")).toBeNull();
    expect(screen.getByTestId("fetch-copy-done")).toBeInTheDocument();
  });

  it("says when there is no copy, and shows a failed fetch's code", () => {
    const { rerender } = render(<FetchCopy copies={[copies[1]!]} state={{ status: "idle" }} onFetch={() => {}} />);
    expect(screen.getByTestId("fetch-copy-none")).toBeInTheDocument();
    rerender(
      <FetchCopy
        copies={copies}
        state={{ status: "error", destination: "nas", error: { code: "integrity", message: "checksum differs", hint: null, retryable: false } }}
        onFetch={() => {}}
      />,
    );
    expect(screen.getByTestId("fetch-copy-error")).toHaveAttribute("data-code", "integrity");
    expect(fetchable(copies).map((c) => c.destination)).toEqual(["nas"]);
  });
});
