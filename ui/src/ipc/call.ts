// A generated command's result as `{ ok, data }` or `{ ok: false, error }` (an ErrorPayload),
// also when the call itself threw (Tauri rejects with strings; the bindings rethrow Errors).
import type { ErrorPayload } from "../bindings";
import { toErrorPayload } from "./errors";

export type Call<T> = { ok: true; data: T } | { ok: false; error: ErrorPayload };

export async function call<T>(p: Promise<{ status: "ok"; data: T } | { status: "error"; error: unknown }>): Promise<Call<T>> {
  try {
    const r = await p;
    return r.status === "ok" ? { ok: true, data: r.data } : { ok: false, error: toErrorPayload(r.error) };
  } catch (e) {
    return { ok: false, error: toErrorPayload(e) };
  }
}
