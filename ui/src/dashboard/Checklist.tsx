// The one protection checklist (issue 44), as the engine computed it (`offsite_core::health::
// checklist`, the `checklist` of a project's health): "N of M done", every item that needs the
// user listed next step first (gaps in amber), and a banner when backups are paused because the
// recovery key is not confirmed. The home card and the project's header both show this; neither
// re-derives anything.
import type { ReactNode } from "react";
import type { CheckItem, CheckState, Checklist } from "../bindings";
import { formatTime } from "../components/format";
import { BACKUP_RUNNING } from "./headline";
import "./dashboard.css";

/** An item's why in the app's one time format: the engine writes times in this computer's zone
 * in its own words ("… 03:30 CET"); the item carries the instant and the sentence with `{at}`. */
export function checkWhy(item: Pick<CheckItem, "why" | "at" | "why_at">): string {
  return item.at && item.why_at ? item.why_at.replace("{at}", formatTime(item.at)) : item.why;
}

/** The marks: characters every font has, and the pause drawn (U+23F8 is missing from most). */
const MARK: Record<CheckState, string> = {
  done: "✓",
  gap: "!",
  paused: "",
  waiting: "…",
  off: "–",
};

function Mark({ state }: { state: CheckState }) {
  return (
    <span className="check-mark" aria-hidden="true" data-testid="check-mark">
      {state === "paused" ? (
        <svg className="check-pause" viewBox="0 0 10 10" width="10" height="10" focusable="false">
          <rect x="1.5" y="1" width="2.5" height="8" rx="0.5" fill="currentColor" />
          <rect x="6" y="1" width="2.5" height="8" rx="0.5" fill="currentColor" />
        </svg>
      ) : (
        MARK[state]
      )}
    </span>
  );
}

/**
 * "4 of 6 done", green when everything that applies is done, amber otherwise; an item the engine
 * does not count (encryption turned off) is named beside it, so the count and the rows agree
 * (issue 44: "2 of 5 done" above six rows).
 */
export function ChecklistBadge({ checklist }: { checklist: Checklist }) {
  const complete = checklist.done === checklist.total;
  const off = checklist.items.filter((i) => i.state === "off");
  return (
    <>
      <Badge checklist={checklist} complete={complete} />
      {off.length > 0 && (
        // Two unbreakable halves: the home card's narrow column broke it as "Encryption off: not /
        // counted" (projects-07-home); now "Encryption off:" over "not counted".
        <span className="check-not-counted small muted" data-testid="checklist-not-counted">
          <span>{off.map((i) => `${i.id === "encryption" ? "Encryption" : i.label} off`).join(", ")}:</span>{" "}
          <span>not counted</span>
        </span>
      )}
    </>
  );
}

/**
 * The badge counts what the summary over all projects counts (issue 64, projects-07-home: "0 of 6
 * done" beside "2 things need you"): the items that need the user; "N of M done" is its hover.
 */
export function badgeWords(checklist: Checklist): string {
  const open = checklist.items.filter((i) => i.state === "gap" || i.state === "paused").length;
  if (open > 0) return `${open} to do`;
  if (checklist.done === checklist.total) return "All done";
  return checklist.line;
}

function Badge({ checklist, complete }: { checklist: Checklist; complete: boolean }) {
  return (
    <span
      className={`check-badge ${complete ? "check-badge-done" : "check-badge-open"}`}
      data-testid="checklist-badge"
      data-done={checklist.done}
      data-total={checklist.total}
      title={checklist.line}
    >
      {badgeWords(checklist)}
    </span>
  );
}

type ItemsProps = {
  checklist: Checklist;
  /** "open": the items that need the user (and those waiting for them), the done ones in one
   * line; "all": every item on its own line. */
  show: "open" | "all";
  /** A button per open item (absent: the items are read only). */
  onFix?: (item: CheckItem) => void;
  /** The item whose Fix is already the card's main button (no second button for it). */
  mainFix?: CheckItem["id"] | undefined;
  /** A PausedBanner with its Fix button is shown above the list: the items it answers take no
   * button of their own ("all"), and are not listed again ("open": the home card). */
  pausedBanner?: boolean;
  testId?: string;
  /** Said after an item's why (the project page: "Scheduled" while Offsite does not start at login). */
  notes?: Partial<Record<CheckItem["id"], ReactNode>>;
  /** Fixes the page offers already as its own button (the project page's split "Back up now"):
   * their items take no second button with the same words, and point to it instead. */
  offeredAbove?: Partial<Record<NonNullable<CheckItem["fix"]>, string>>;
  /** Fixes that cannot run now, with why (a backup running: "Back up now" waits for it). */
  busy?: Busy;
};

/** A fix that cannot run now: the button's words meanwhile and why, said beside it. */
export type Busy = Partial<Record<NonNullable<CheckItem["fix"]>, { label: string; why: string }>>;

/** Why "Back up now" waits (the checklist's button, the card's and the project's header say the same). */
export const BACKING_UP_WHY = `${BACKUP_RUNNING}.`;

/** What waits while a backup of the project runs (issue 64 item 6: projects-04 offered "Back up now"). */
export function busyWhileBackingUp(running: boolean): Busy {
  return running ? { back_up_now: { label: "Backing up…", why: BACKING_UP_WHY } } : {};
}

/** A sentence as compared: capital first letter, no full stop at the end. */
const plain = (s: string) => {
  const t = s.trim().replace(/\.$/, "");
  return t.charAt(0).toUpperCase() + t.slice(1);
};

/** Whether `item`'s why is `said` (the card's reason). */
export function saysAgain(item: CheckItem, said: string | undefined): boolean {
  return said !== undefined && plain(item.why) === plain(said);
}

function Item({
  item,
  onFix,
  note,
  busy,
  above,
}: {
  item: CheckItem;
  onFix: ((item: CheckItem) => void) | undefined;
  note?: ReactNode;
  busy?: { label: string; why: string } | undefined;
  /** Where the page offers this item's fix already (no button here). */
  above?: string | undefined;
}) {
  return (
    <li className={`check-item check-${item.state}`} data-testid="check-item" data-item={item.id} data-state={item.state}>
      <Mark state={item.state} />
      <span className="check-text">
        <span className="check-label">{item.label}</span>{" "}
        {/* Every row is a sentence (issue 44: "Backed up recently: needs you" was a state, not a
            sentence, above the next row's sentence); the card says no reason line beside it. */}
        <span className="check-why">{checkWhy(item)}</span>
        {note}
        {onFix && busy && (
          <span className="check-busy muted" data-testid={`check-busy-${item.id}`}>
            {" "}
            {busy.why}
          </span>
        )}
        {onFix && above && !busy && (
          <span className="check-above muted" data-testid={`check-above-${item.id}`}>
            {" "}
            {above}
          </span>
        )}
      </span>
      {onFix && !above && item.fix && item.fix_label && (
        <button
          type="button"
          className="btn btn-small"
          onClick={() => onFix(item)}
          disabled={Boolean(busy)}
          title={busy?.why}
          data-testid={`check-fix-${item.id}`}
          data-fix={item.fix}
        >
          {busy ? busy.label : item.fix_label}
        </button>
      )}
    </li>
  );
}

/** The items, next step first (the engine's order). */
export function ChecklistItems({
  checklist,
  show,
  onFix,
  mainFix,
  pausedBanner = false,
  testId = "checklist",
  notes,
  busy,
  offeredAbove,
}: ItemsProps) {
  // Paused backups with their banner's button above the list (`pausedBanner`): the items it
  // answers take no second and third copy of it (checklist-04 showed three); on the home card
  // they are not listed again at all (the banner's one sentence says the pause).
  const bannerFix = answeredByBanner(checklist, pausedBanner);
  const listed =
    show === "all"
      ? checklist.items
      : checklist.items.filter((i) => i.state !== "done" && i.state !== "off" && !(bannerFix && i.fix === bannerFix));
  const done = checklist.items.filter((i) => i.state === "done");
  return (
    <div className="checklist" data-testid={testId} data-paused={checklist.paused}>
      {listed.length > 0 && (
        <ul className="check-items">
          {listed.map((i) => (
            <Item
              key={i.id}
              item={i}
              onFix={i.id === mainFix || (bannerFix && i.fix === bannerFix) ? undefined : onFix}
              note={notes?.[i.id]}
              busy={i.fix ? busy?.[i.fix] : undefined}
              above={i.fix ? offeredAbove?.[i.fix] : undefined}
            />
          ))}
        </ul>
      )}
      {show === "open" && done.length > 0 && (
        <p className="check-done-line small" data-testid={`${testId}-done`}>
          <span aria-hidden="true">✓ </span>
          Done: {done.map((i) => i.label).join(" · ")}
        </p>
      )}
    </div>
  );
}

/** The Fix a PausedBanner shown above the list takes (the encryption item's), if backups are paused. */
export function answeredByBanner(checklist: Checklist, pausedBanner = true): CheckItem["fix"] | undefined {
  if (!pausedBanner || !checklist.paused) return undefined;
  return checklist.items.find((i) => i.id === "encryption")?.fix ?? undefined;
}

/** The banner's one sentence (issue 44: the home card said the pause in three items). */
export function pausedWords(fix: CheckItem["fix"]): string {
  return fix === "set_up_encryption"
    ? "Backups are paused until encryption is set up."
    : "Backups are paused until you confirm your recovery key: without it nobody could read them.";
}

/** Backups paused until the recovery key is confirmed: one sentence, first, with the one button
 * that opens the field (the item's Fix). */
export function PausedBanner({
  checklist,
  onFix,
  testId = "backups-paused",
  fixTestId,
}: {
  checklist: Checklist;
  onFix?: (item: CheckItem) => void;
  testId?: string;
  /** The button's test id (default `${testId}-fix`). */
  fixTestId?: string;
}) {
  if (!checklist.paused) return null;
  const encryption = checklist.items.find((i) => i.id === "encryption");
  if (!encryption) return null;
  return (
    <div className="notice notice-warn check-paused" role="alert" data-testid={testId}>
      <p className="notice-title">{pausedWords(encryption.fix)}</p>
      {onFix && encryption.fix_label && (
        <button
          type="button"
          className="btn btn-small btn-primary"
          onClick={() => onFix(encryption)}
          data-testid={fixTestId ?? `${testId}-fix`}
          data-fix={encryption.fix ?? undefined}
        >
          {encryption.fix_label}
        </button>
      )}
    </div>
  );
}
