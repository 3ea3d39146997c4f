// The first-run welcome (issue 44): before the first project, one question — are new projects
// encrypted? — answered once; the answer is the engine's default encryption of new projects
// (Settings → Encryption of new projects changes it later). Encryption stays the user's choice.
// Whether it was answered is the engine's (`chosen`: the setting was saved at all); once it was,
// the welcome is not shown again, on this or any later start.
import { useEffect, useState } from "react";
import { commands, type EncryptionMode, type ErrorPayload } from "../bindings";
import { ErrorNotice } from "../components/ErrorNotice";
import { call } from "../ipc/call";

const ANSWERS: { mode: EncryptionMode; title: string; detail: string }[] = [
  {
    mode: "key",
    title: "Yes, with a generated key",
    detail: "Offsite makes a key for each project and shows its recovery key once, to keep somewhere safe.",
  },
  {
    mode: "passphrase",
    title: "Yes, with a passphrase",
    detail: "You choose a passphrase for each project; without it its backups cannot be opened.",
  },
  { mode: "off", title: "No, not for now", detail: "Backups are readable by anyone who has the files. You can turn it on per project." },
];

const ANSWERED: Record<EncryptionMode, string> = {
  key: "New projects are encrypted with a generated key.",
  passphrase: "New projects are encrypted with a passphrase.",
  off: "New projects are not encrypted.",
};

export function Welcome() {
  // null while loading; true: answered before (nothing is shown).
  const [chosen, setChosen] = useState<boolean | null>(null);
  const [answered, setAnswered] = useState<EncryptionMode | null>(null);
  const [error, setError] = useState<ErrorPayload | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    void call(commands.getDefaultEncryption()).then((r) => {
      if (!r.ok) {
        // Unknown: ask (an answer saves the choice).
        setChosen(false);
        return setError(r.error);
      }
      // Nothing is marked as the answer: the question is shown only while none was given.
      setChosen(r.data.chosen);
    });
  }, []);
  const choose = async (m: EncryptionMode) => {
    setBusy(true);
    setError(null);
    const r = await call(commands.setDefaultEncryption(m));
    setBusy(false);
    if (!r.ok) return setError(r.error);
    setAnswered(r.data);
  };
  if (chosen === null || (chosen && !answered)) return null;
  if (answered) {
    return (
      <p className="notice notice-ok small" role="status" data-testid="welcome-answered" data-mode={answered}>
        {ANSWERED[answered]} Settings changes it later.
      </p>
    );
  }
  return (
    <section className="panel welcome" aria-labelledby="welcome-title" data-testid="welcome">
      <h2 id="welcome-title" className="panel-title">
        Welcome to Offsite
      </h2>
      <p>Before your first project: should new projects encrypt their backups?</p>
      <div className="welcome-answers" role="group" aria-label="Encrypt new projects">
        {ANSWERS.map((a) => (
          <button
            key={a.mode}
            type="button"
            className="btn welcome-answer"
            disabled={busy}
            onClick={() => void choose(a.mode)}
            data-testid={`welcome-${a.mode}`}
          >
            <strong>{a.title}</strong>
            <span className="small muted">{a.detail}</span>
          </button>
        ))}
      </div>
      {error && <ErrorNotice error={error} testId="welcome-error" />}
    </section>
  );
}
