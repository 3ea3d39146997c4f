// The drop zone's state as a pure function of Tauri's webview drag-and-drop events
// (`getCurrentWebview().onDragDropEvent`: enter / over / drop / leave). HTML5 drop events carry no
// file paths in Tauri, so they are not used.
import type { DragDropEvent } from "@tauri-apps/api/webview";

export type DropState = {
  /** Files are being dragged over the window: show the overlay. */
  over: boolean;
  /** How many files are being dragged (from `enter`). */
  count: number;
  /** The path being previewed (the first dropped file), if any. */
  path: string | null;
  /** How many other dropped files were ignored. */
  ignored: number;
};

export const initialDrop: DropState = { over: false, count: 0, path: null, ignored: 0 };

/** `open`: preview a file chosen in the open dialog, exactly as if it had been dropped. */
export type DropAction = DragDropEvent | { type: "dismiss" } | { type: "open"; path: string };

export function dropReducer(s: DropState, e: DropAction): DropState {
  switch (e.type) {
    case "enter":
      return { ...s, over: true, count: e.paths.length };
    case "over":
      return s.over ? s : { ...s, over: true };
    case "leave":
      return { ...s, over: false, count: 0 };
    case "drop": {
      const [first, ...rest] = e.paths;
      // Dropping nothing (a text selection, a link) only hides the overlay.
      if (first === undefined) return { ...s, over: false, count: 0 };
      return { over: false, count: 0, path: first, ignored: rest.length };
    }
    case "dismiss":
      return { ...s, path: null, ignored: 0 };
    case "open":
      return { over: false, count: 0, path: e.path, ignored: 0 };
  }
}

/** The file name of a path (either separator). */
export function fileName(path: string): string {
  const parts = path.split(/[\\/]/);
  return parts[parts.length - 1] || path;
}

/** Whether a failure says the file itself is damaged (its contents do not match its checksum). */
export function isDamaged(error: { code: string } | null | undefined): boolean {
  return error?.code === "integrity";
}
