// A sentence with checksums in it (a drill's "sha256 028b49ee…, every file matches"): each long
// hex value shown as its first and last 8 characters, the whole value in its title, so a
// table cell holds it on one line (issue 44, drill-01: a SHA-256 spread over three lines).

const LONG_HEX = /\b[0-9a-f]{40,}\b/gi;

/** The text split into plain parts and long hex values, in order. */
export function splitHashes(text: string): { text: string; hash: boolean }[] {
  const parts: { text: string; hash: boolean }[] = [];
  let at = 0;
  for (const m of text.matchAll(LONG_HEX)) {
    if (m.index > at) parts.push({ text: text.slice(at, m.index), hash: false });
    parts.push({ text: m[0], hash: true });
    at = m.index + m[0].length;
  }
  if (at < text.length) parts.push({ text: text.slice(at), hash: false });
  return parts;
}

export function ShortHashes({ text }: { text: string }) {
  return (
    <>
      {splitHashes(text).map((p, i) =>
        p.hash ? (
          <span key={i} className="hash-short" title={p.text} data-hash={p.text}>
            {p.text.slice(0, 8)}…{p.text.slice(-8)}
          </span>
        ) : (
          p.text
        ),
      )}
    </>
  );
}
