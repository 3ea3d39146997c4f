// Times in one format (issue 44): every date and time the app writes is this computer's local
// time as `formatTime` writes it ("2026-11-25 14:05"); the zone is named once, by `ZoneNote`, not
// beside every time; a relative time ("3 hours ago") carries the exact time on hover.
import { localZoneLabel } from "./format";

/** The one line that names the zone every time on the screen is in. */
export function ZoneNote() {
  return (
    <p className="zone-note muted small" data-testid="zone-note">
      Times are this computer’s: {localZoneLabel()}.
    </p>
  );
}
