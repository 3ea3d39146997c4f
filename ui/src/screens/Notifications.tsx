// Notifications, a screen of their own (issue 44: they lived inside Settings, below Settings' own
// Save, though every part of them saves on its own): the channels, which events go where, and
// the delivery log, at the window's width.
import { NotificationsSection } from "../notify/NotificationsSection";

export function Notifications({ onBack }: { onBack: () => void }) {
  return (
    <section className="form-screen" data-testid="notifications-screen">
      <div className="toolbar">
        <button type="button" className="btn btn-quiet" onClick={onBack} data-testid="notifications-back">
          ← Projects
        </button>
        {/* On the back button's line, as every other screen's title (issue 44, screens-light-15). */}
        <h2 id="notify-title" className="screen-title">
          Notifications
        </h2>
      </div>
      <NotificationsSection titled={false} />
    </section>
  );
}
