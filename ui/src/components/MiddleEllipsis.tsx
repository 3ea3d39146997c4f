// A long value on one line, shortened in the middle when the column is narrow (issue 44: the side
// panel broke paths every ~15 characters and spread a SHA-256 over five lines). The whole value
// stays in the text (selectable, copied, read by screen readers) and in the title; only the
// start's overflow is hidden, so a path keeps its file name and a checksum its last bytes.

/** Where a value is cut: a path after its last folder separator, anything else before its last 8 characters. */
export function splitForEllipsis(value: string, kind: "path" | "hash"): [string, string] {
  if (kind === "path") {
    const i = Math.max(value.lastIndexOf("/"), value.lastIndexOf("\\"));
    if (i > 0 && i < value.length - 1) return [value.slice(0, i + 1), value.slice(i + 1)];
    return ["", value];
  }
  const cut = Math.max(0, value.length - 8);
  return [value.slice(0, cut), value.slice(cut)];
}

export function MiddleEllipsis({ value, kind }: { value: string; kind: "path" | "hash" }) {
  const [head, tail] = splitForEllipsis(value, kind);
  return (
    <span className={`middle-ellipsis middle-ellipsis-${kind}`} title={value}>
      {head && <span className="middle-ellipsis-head">{head}</span>}
      <span className="middle-ellipsis-tail">{tail}</span>
    </span>
  );
}
