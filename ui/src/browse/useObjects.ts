// The storage objects the browse screen lists: the first page comes with the backup's contents;
// "Show more" appends the next page, a search (part of `bucket/key`) starts over from its first
// page. The engine pages and filters; this only keeps what was shown.
import { useCallback, useEffect, useRef, useState } from "react";
import type { ErrorPayload } from "../bindings";
import type { Call } from "../ipc/call";
import type { ObjectEntry } from "./ObjectList";

export type ObjectsPage = { objects: ObjectEntry[]; total: number; more: boolean };

export type ObjectsState = {
  list: ObjectEntry[];
  /** Objects matching `search` in the backup. */
  total: number;
  more: boolean;
  search: string;
  busy: boolean;
  error: ErrorPayload | null;
};

type Fetch = (archive: string, search: string, offset: number, limit: number) => Promise<Call<ObjectsPage>>;

export function useObjects(archive: string, first: ObjectsPage | null, fetch: Fetch, pageSize: number) {
  const [state, setState] = useState<ObjectsState>({ list: [], total: 0, more: false, search: "", busy: false, error: null });
  // Only the newest request's answer is shown (a search typed while more objects load wins).
  const seq = useRef(0);
  useEffect(() => {
    seq.current += 1;
    if (first) setState({ list: first.objects, total: first.total, more: first.more, search: "", busy: false, error: null });
  }, [first]);

  const load = useCallback(
    async (search: string, offset: number, keep: ObjectEntry[]) => {
      const mine = ++seq.current;
      setState((s) => ({ ...s, search, busy: true, error: null }));
      const r = await fetch(archive, search, offset, pageSize);
      if (mine !== seq.current) return;
      if (!r.ok) {
        // A backup without storage has nothing to search: an empty list, not an error.
        if (r.error.code === "not_found") setState({ list: [], total: 0, more: false, search, busy: false, error: null });
        else setState((s) => ({ ...s, busy: false, error: r.error }));
        return;
      }
      setState({ list: [...keep, ...r.data.objects], total: r.data.total, more: r.data.more, search, busy: false, error: null });
    },
    [archive, fetch, pageSize],
  );

  const showMore = useCallback(() => void load(state.search, state.list.length, state.list), [load, state]);
  const searchFor = useCallback((search: string) => void load(search, 0, []), [load]);
  return { state, showMore, searchFor };
}
