import { render } from "@testing-library/react";
import { describe, expect, it, vi } from "vitest";
import { useSubscription } from "./subscribe";

function Listener({ source }: { source: Parameters<typeof useSubscription<string>>[0] }) {
  useSubscription(source, () => {});
  return null;
}

describe("useSubscription", () => {
  it("stops on unmount, and an unlisten that fails (the IPC gone) is no unhandled rejection", async () => {
    const rejected = vi.fn(() => Promise.reject(new Error("unregisterListener is not a function")));
    const source = vi.fn(() => Promise.resolve(rejected as unknown as () => void));
    const view = render(<Listener source={source} />);
    await Promise.resolve();
    await Promise.resolve();
    view.unmount();
    expect(rejected).toHaveBeenCalledOnce();
    // Let the rejection settle: unhandled, vitest fails the run.
    await new Promise((r) => setTimeout(r, 0));
  });

  it("an unlisten that throws at once is swallowed too", async () => {
    const throwing = vi.fn(() => {
      throw new Error("gone");
    });
    const source = vi.fn(() => Promise.resolve(throwing));
    const view = render(<Listener source={source} />);
    await Promise.resolve();
    await Promise.resolve();
    expect(() => view.unmount()).not.toThrow();
    expect(throwing).toHaveBeenCalledOnce();
  });
});
