import { localSeconds } from "../wizard/pitr/time";

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

// The engine's sentences in a report (a drill's checks), read by a person (issue 64 item 3,
// pitr-05: "base c39820ee-144f-… (taken 2026-11-28T12:30:32.231895Z) … (LSN 0/2DDDAA0)"): times in
// the app's date format (local, to the second), ids and log positions left out of the sentence,
// generated names shortened. The engine's own text stays whole in the element's title and in the
// saved report.
const RFC3339 = /\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})/g;
const UUID = /\s?\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
const LSN = /(?:,\s*| \()LSN [0-9A-F]+\/[0-9A-F]+\)?/g;
/** The engine's readable form of a time in a sentence ("2026-11-28 06:31:23 UTC", `words::readable_utc`). */
const UTC_SECONDS = /\b(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) UTC\b/g;
const GENERATED_NAME = /\b([a-z][a-z_]*_)([a-z]{0,2})([0-9a-f]{16,})\b/g;

/** "2026-11-28T12:30:32.231895Z" → "2026-11-28 12:30:32" in this computer's zone (the app's one
 *  format to the second: `localSeconds`). */
const localTime = (iso: string): string => localSeconds(iso);

/** The sentence as a person reads it (see above); hashes are shortened by [`ShortHashes`]. */
export function readableText(text: string): string {
  return text
    .replace(LSN, "")
    .replace(UUID, "")
    .replace(RFC3339, localTime)
    .replace(UTC_SECONDS, (_m, day: string, time: string) => localTime(`${day}T${time}Z`))
    .replace(GENERATED_NAME, (_m, prefix: string, tag: string, hex: string) => `${prefix}${tag}${hex.slice(0, 6)}…`);
}

/** An engine sentence of a report, readable (see [`readableText`]), the original in its title. */
export function ReportText({ text }: { text: string }) {
  const readable = readableText(text);
  return (
    <span title={readable === text ? undefined : text} data-engine-text={text}>
      <ShortHashes text={readable} />
    </span>
  );
}
