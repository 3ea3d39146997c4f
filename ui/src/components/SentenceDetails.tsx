// An engine text that says a plain sentence first and its technical words after
// `offsite_core::postgres::restore::plan::DETAILS` ("…\nDetails: foreign key orders_fkey of
// public.orders"): the sentence, then the rest behind a closed "Details" (issue 44).
import { sentenceCase } from "../words";

/** Where the engine's plain sentence ends and its technical detail begins. */
export const DETAILS = "\nDetails: ";

/** The sentence (sentence case) and the detail, if any. */
export function splitDetails(text: string): { sentence: string; detail: string | null } {
  const at = text.indexOf(DETAILS);
  const shown = sentenceCase(text);
  if (at < 0) return { sentence: shown, detail: null };
  return { sentence: shown.slice(0, at), detail: shown.slice(at + DETAILS.length) };
}

/** The sentence with a full stop, then the detail behind Details. */
export function SentenceDetails({ text, testId }: { text: string; testId: string }) {
  const { sentence, detail } = splitDetails(text);
  const said = /[.!?]$/.test(sentence) ? sentence : `${sentence}.`;
  if (detail === null) return <>{said}</>;
  return (
    <>
      {said}{" "}
      <details className="warning-details" data-testid={testId}>
        <summary>Details</summary>
        <span className="small">{detail}</span>
      </details>
    </>
  );
}
