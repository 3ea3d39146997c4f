// A database on a server by its parts — Server, Port, User, Database, the TLS choice, Password —
// in the words and order of Add project: the restore's target and the row recovery's share it.
import type { TlsMode } from "../bindings";
import { TlsOptions } from "./TlsOptions";

export type ServerParts = { host: string; port: string; user: string; database: string; tls: TlsMode; password: string };

type Props<T extends ServerParts> = {
  t: T;
  set: (t: T) => void;
  /** Each field's id and test id: `${idPrefix}-host`, … `${idPrefix}-password`. */
  idPrefix: string;
  databasePlaceholder?: string;
  /** Under the password (what it is used for). */
  passwordHelp?: string;
};

export function ServerFields<T extends ServerParts>({ t, set, idPrefix, databasePlaceholder, passwordHelp }: Props<T>) {
  const field = (k: "host" | "port" | "user" | "database", label: string, placeholder?: string) => (
    <div className="field">
      <label htmlFor={`${idPrefix}-${k}`}>{label}</label>
      <input
        id={`${idPrefix}-${k}`}
        type="text"
        inputMode={k === "port" ? "numeric" : undefined}
        spellCheck={false}
        placeholder={placeholder}
        value={t[k]}
        onChange={(e) => set({ ...t, [k]: e.target.value })}
        data-testid={`${idPrefix}-${k}`}
      />
    </div>
  );
  return (
    <div className="field-grid">
      {field("host", "Server", "db.example.com or /var/run/postgresql")}
      {field("port", "Port")}
      {field("user", "User")}
      {field("database", "Database", databasePlaceholder)}
      <div className="field">
        <label htmlFor={`${idPrefix}-tls`}>Encrypted connection (TLS)</label>
        <select id={`${idPrefix}-tls`} value={t.tls} onChange={(e) => set({ ...t, tls: e.target.value as TlsMode })} data-testid={`${idPrefix}-tls`}>
          <TlsOptions />
        </select>
      </div>
      <div className="field">
        <label htmlFor={`${idPrefix}-password`}>Password</label>
        <input
          id={`${idPrefix}-password`}
          type="password"
          autoComplete="off"
          value={t.password}
          onChange={(e) => set({ ...t, password: e.target.value })}
          data-testid={`${idPrefix}-password`}
        />
        {passwordHelp && <p className="field-help">{passwordHelp}</p>}
      </div>
    </div>
  );
}
