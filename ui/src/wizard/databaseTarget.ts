// Where a database goes, as the app asks for it — a saved project, a database on a server by its
// parts, or a pasted URL — and as the commands take it (`DatabaseTo`: the password beside the
// connection, never in it). Row recovery and the restore to a time share it.
import type { DatabaseTo } from "../bindings";
import { type ServerTarget, serverTo } from "./steps";

export type DatabaseTarget =
  | { kind: "project"; project: string }
  | Omit<ServerTarget, "create">
  | { kind: "url"; url: string; password: string };

/** The target as the engine takes it; null while a server's part is missing or the port is no port. */
export function targetOf(t: DatabaseTarget): DatabaseTo | null {
  switch (t.kind) {
    case "project":
      return { project: t.project };
    case "server":
      return serverTo(t);
    case "url":
      return { connection: { connection: { url: t.url.trim() }, tls: null, password: t.password === "" ? null : t.password } };
  }
}

/** Whether the target is filled in enough to be used. */
export function targetReady(t: DatabaseTarget): boolean {
  switch (t.kind) {
    case "project":
      return t.project !== "";
    case "server":
      return serverTo(t) !== null;
    case "url":
      return /^postgres(ql)?:\/\//.test(t.url.trim());
  }
}

/** The password typed for the target (a saved project's is in the keychain). */
export function typedPassword(t: DatabaseTarget): string | null {
  return t.kind !== "project" && t.password !== "" ? t.password : null;
}

/** The target for people: the project's name, "DATABASE on HOST", or the URL as typed. */
export function targetLabel(t: DatabaseTarget): string {
  switch (t.kind) {
    case "project":
      return t.project;
    case "server":
      return `${t.database.trim()} on ${t.host.trim()}`;
    case "url":
      return t.url.trim();
  }
}
