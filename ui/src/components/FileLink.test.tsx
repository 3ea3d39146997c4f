import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FileLink } from "./FileLink";

describe("FileLink", () => {
  it("keeps the path whole but lets a narrow column wrap it only between folders", () => {
    const path = "/home/ana/.local/share/offsite/backups/shop/shop_20261125_035534_database.tar.zst";
    render(<FileLink path={path} backupId="b1" testId="link" />);
    const link = screen.getByTestId("link");
    expect(link).toHaveTextContent(path);
    // One break opportunity after each "/" but the last: none inside a name.
    const breaks = link.querySelectorAll("wbr");
    expect(breaks.length).toBe(path.split("/").length - 1);
    for (const b of breaks) expect(b.previousSibling?.textContent?.endsWith("/")).toBe(true);
  });
});
