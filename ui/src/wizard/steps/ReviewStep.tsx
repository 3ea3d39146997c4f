// Step 4: the ONE plan, a section per component of the request: the database (what will be
// created, replaced and kept, the safety backup), the storage (objects written, skipped and
// deleted per bucket), the configuration (the differences, and the settings that will be written);
// every section's blockers in one list, and the typed "mirror" before a storage mirror deletes
// objects (the database's name is typed beside the button: ReviewConfirm.tsx).
import { useState } from "react";
import { ErrorNotice } from "../../components/ErrorNotice";
import { formatTime } from "../../components/format";
import type { ArbitraryKind, ConfigPlan, DatabasePlan } from "../../bindings";
import {
  blockers,
  type ConfigChoice,
  MIRROR_WORD,
  needsArbitrarySqlConsent,
  needsMirrorConsent,
  readyPlan,
  readyRestorePlan,
} from "../steps";
import { ConfigDiffTable, StoragePlanView } from "./ComponentsRestore";
import { SelectionPicker } from "./SelectionPicker";
import { FunctionsTable } from "./FunctionsTable";
import { VaultKey } from "./VaultKey";
import type { StepProps } from "./types";
import { nounFor, plural, WORDS, sentenceCase } from "../../words";
import { databaseLabel } from "../../components/names";
import { destructiveWarning } from "../destructive";
import { DETAILS, SentenceDetails } from "../../components/SentenceDetails";

const LIST_LIMIT = 50;

/**
 * Restore as a less privileged role: connected as a superuser, the backup's functions would run
 * with a superuser's rights; naming a role makes them run with that role's rights only.
 */
function AsRole({ current, onApply }: { current: string; onApply: (role: string) => void }) {
  const [typed, setTyped] = useState(current);
  const wanted = typed.trim();
  return (
    <details className="notice" data-testid="wizard-as-role" open={current !== ""}>
      <summary className="notice-title">Restore as a less privileged role</summary>
      <p className="small muted">
        Functions a backup defines run while it is restored, with the rights of the role that restores it. For a
        backup you did not make here, name a role of the target without administrator rights: Offsite restores through
        a temporary login that can act only as that role, and removes it afterwards.
      </p>
      <label>
        Role{" "}
        <input
          type="text"
          value={typed}
          onChange={(e) => setTyped(e.target.value)}
          placeholder="e.g. app_owner"
          data-testid="wizard-as-role-input"
        />
      </label>{" "}
      <button
        type="button"
        disabled={wanted === current}
        onClick={() => onApply(wanted)}
        data-testid="wizard-as-role-apply"
      >
        {wanted ? "Restore as this role" : "Restore as the connecting role"}
      </button>
      {current && (
        <p className="small" data-testid="wizard-as-role-current">
          The restore runs as <span className="mono">{current}</span>.
        </p>
      )}
    </details>
  );
}

function TableList({
  title,
  items,
  testId,
  destroys = false,
}: {
  title: string;
  items: string[];
  testId: string;
  /** What is replaced or dropped: in red, whenever there is any. */
  destroys?: boolean;
}) {
  const red = destroys && items.length > 0;
  return (
    <div className={`wizard-list${red ? " destroys" : ""}`} data-testid={testId} data-count={items.length} data-destroys={String(red)}>
      <h4>
        {title} <span className="muted small">{items.length}</span>
      </h4>
      {items.length === 0 ? (
        <p className="muted small">none</p>
      ) : (
        <ul className="mono small">
          {items.slice(0, LIST_LIMIT).map((x) => (
            <li key={x}>{x}</li>
          ))}
          {items.length > LIST_LIMIT && <li className="muted">… and {items.length - LIST_LIMIT} more</li>}
        </ul>
      )}
    </div>
  );
}

/** What each kind of statement does on the database server (as the engine words it). */
const ARBITRARY_KIND: Record<ArbitraryKind, string> = {
  runs_program: "runs a program on the database server",
  server_files: "reads or writes files on the database server",
  server_config: "changes the database server's configuration",
  superuser: "gives a role administrator or server powers",
  runs_code: "runs code on the database server",
  unrecognised: "runs a statement pg_dump never writes",
};

/** The statements of the backup's SQL that pg_dump never writes, and their own consent. */
function ArbitrarySql({
  plan,
  allowed,
  onChange,
}: {
  plan: DatabasePlan;
  allowed: boolean;
  onChange: (on: boolean) => void;
}) {
  const more = plan.arbitrary_sql_total - plan.arbitrary_sql.length;
  return (
    <div className="notice notice-error" data-testid="wizard-arbitrary-sql" data-count={plan.arbitrary_sql_total}>
      <p className="notice-title">
        This backup's SQL holds {plural(plan.arbitrary_sql_total, "statement")} pg_dump never writes
      </p>
      <p className="small">
        Restored by a role with administrator rights ({plan.connecting_role}
        {plan.connecting_superuser ? " has them" : " does not"}), statements like these can run programs and read or
        write files on the database server. Run them only if you trust where the file came from.
      </p>
      <ul className="small" data-testid="wizard-arbitrary-sql-list">
        {plan.arbitrary_sql.map((a, i) => (
          <li key={i}>
            {ARBITRARY_KIND[a.kind]}:{" "}
            <code className="mono">
              <bdi>{a.excerpt}</bdi>
            </code>
          </li>
        ))}
        {more > 0 && <li className="muted">… and {more} more</li>}
      </ul>
      <label>
        <input
          type="checkbox"
          checked={allowed}
          onChange={(e) => onChange(e.target.checked)}
          data-testid="wizard-allow-arbitrary-sql"
        />{" "}
        I trust this file: run {nounFor(plan.arbitrary_sql_total, "this", "these")} {plural(plan.arbitrary_sql_total, "statement")} on the target
      </label>
    </div>
  );
}

export function ReviewStep({ state, dispatch, onRetry }: StepProps & { onRetry: () => void }) {
  const p = state.plan;
  if (p.status === "loading" || p.status === "idle")
    return (
      <p className="muted" data-testid="wizard-plan-loading">
        Making the plan…
      </p>
    );
  if (p.status === "error") return <ErrorNotice error={p.error} testId="wizard-plan-error" onRetry={onRetry} />;
  const plan = readyPlan(state);
  const whole = readyRestorePlan(state)!;
  const blocking = blockers(state);
  const warning = destructiveWarning(whole);
  return (
    <div data-testid="wizard-plan">
      {warning && (
        <div className="notice notice-error destroy-banner" role="alert" data-testid="wizard-destroys">
          {warning.map((line) => (
            <p key={line} className="notice-title">
              {line}
            </p>
          ))}
        </div>
      )}
      {plan && <DatabaseSection state={state} dispatch={dispatch} plan={plan} />}

      {whole.storage && (
        <section className="wizard-section" data-testid="wizard-plan-storage">
          <h4>{WORDS.fileStorage}</h4>
          <StoragePlanView plan={whole.storage} />
        </section>
      )}

      {whole.config && state.components.config && (
        <ConfigSection
          plan={whole.config}
          choice={state.components.config}
          onChange={(choice) => dispatch({ type: "setConfig", choice })}
        />
      )}

      {blocking.length > 0 && (
        <div className="notice notice-error" role="alert" data-testid="wizard-blockers">
          <p className="notice-title">The restore cannot run yet</p>
          <ul>
            {blocking.map((b) => (
              <li key={b}>
                <SentenceDetails text={b} testId="wizard-blocker-details" />
              </li>
            ))}
          </ul>
        </div>
      )}

      {needsMirrorConsent(state) && (
        <div className="field wizard-consent">
          <label htmlFor="wizard-storage-consent">
            Mirror deletes the target’s objects the backup does not have. Type{" "}
            <strong className="mono">{MIRROR_WORD}</strong> to allow it:
          </label>
          <input
            id="wizard-storage-consent"
            type="text"
            className="mono"
            autoComplete="off"
            spellCheck={false}
            value={state.mirrorConsent}
            onChange={(e) => dispatch({ type: "typeMirrorConsent", text: e.target.value })}
            data-testid="wizard-storage-consent"
          />
        </div>
      )}

    </div>
  );
}

/** The configuration section: the settings that differ, side by side; the ones ticked are written. */
function ConfigSection({
  plan,
  choice,
  onChange,
}: {
  plan: ConfigPlan;
  choice: ConfigChoice;
  onChange: (choice: ConfigChoice) => void;
}) {
  const chosen = new Set(choice.settings);
  return (
    <section className="wizard-section" data-testid="wizard-config">
      <h4>Configuration of {plan.project}</h4>
      <p className="small" data-testid="wizard-config-will-write">
        {plan.will_write.length === 0
          ? "Nothing will be written back: tick the settings to restore."
          : `Will write ${plan.will_write.length} setting${plan.will_write.length === 1 ? "" : "s"} back: ${plan.will_write.join(", ")}`}
      </p>
      <ConfigDiffTable
        plan={plan}
        chosen={chosen}
        onToggle={(k, on) => {
          const next = new Set(chosen);
          if (on) next.add(k);
          else next.delete(k);
          onChange({ ...choice, settings: [...next] });
        }}
      />
      <FunctionsTable
        plan={plan}
        chosen={new Set(choice.functions ?? [])}
        onToggle={(slug, on) => {
          const next = new Set(choice.functions ?? []);
          if (on) next.add(slug);
          else next.delete(slug);
          onChange({ ...choice, functions: [...next] });
        }}
      />
      <VaultKey
        plan={plan}
        chosen={choice.vaultKey ?? false}
        onToggle={(on) => onChange({ ...choice, vaultKey: on })}
      />
    </section>
  );
}

/** The database section of the plan: what will be created, replaced and kept, and its choices. */
function DatabaseSection({ state, dispatch, plan }: StepProps & { plan: DatabasePlan }) {
  return (
    <>
      <dl className="kv">
        <dt>Backup</dt>
        <dd>
          {plan.project}, {formatTime(plan.created_at)}
        </dd>
        <dt>Target</dt>
        <dd data-testid="wizard-plan-target" title={plan.target}>
          {databaseLabel(plan.target)}
        </dd>
        <dt>Target now</dt>
        <dd
          data-testid="wizard-plan-empty"
          data-empty={String(plan.target_empty)}
          className={plan.target_empty ? undefined : "destroys"}
        >
          {plan.database_missing
            ? plan.creates_database
              ? "does not exist yet: created empty first"
              : "does not exist yet"
            : plan.selection
            ? plan.target_empty
              ? "has none of the chosen objects"
              : `already has ${plan.existing.length} of the chosen objects: ${plan.existing.slice(0, 5).join(", ")}`
            : plan.target_empty
              ? "empty"
              : `already holds ${plural(plan.existing.length, "object")}`}
        </dd>
        <dt>Rows to restore</dt>
        <dd data-testid="wizard-plan-rows">{plan.rows.toLocaleString("en-US")}</dd>
      </dl>
      <details className="details" data-testid="wizard-plan-details">
        <summary>Details</summary>
        <dl className="kv small">
          <dt>Archive file</dt>
          <dd className="mono">
            <bdi>{plan.archive}</bdi>
          </dd>
          <dt>Versions</dt>
          <dd data-testid="wizard-plan-versions">
            Backup from PostgreSQL {plan.source_server_version ?? "unknown"} → server {plan.target_server_version},
            with {plan.pg_restore_version}
          </dd>
        </dl>
      </details>

      <SelectionPicker
        tables={plan.backup_tables}
        selection={state.selection}
        plan={plan.selection}
        view={state.selectionView}
        onChange={(selection) => dispatch({ type: "setSelection", selection })}
        onView={(view) => dispatch({ type: "setSelectionView", view })}
      />

      <div className="wizard-lists">
        <TableList title="Will be created" items={plan.will_create} testId="wizard-will-create" />
        <TableList title="Will be replaced" items={plan.will_replace} testId="wizard-will-replace" destroys />
        <TableList title="Will be kept as they are" items={plan.will_keep} testId="wizard-will-keep" />
        {plan.will_drop.length > 0 && (
          <TableList
            title="Will be dropped: not in the backup, but they depend on replaced objects"
            items={plan.will_drop}
            testId="wizard-will-drop"
            destroys
          />
        )}
      </div>

      <RolesAndOwners state={state} dispatch={dispatch} plan={plan} />

      {!plan.target_empty && (
        <div className="notice notice-neutral" data-testid="wizard-safety">
          <label>
            <input
              type="checkbox"
              checked={state.safetyBackup}
              onChange={(e) => dispatch({ type: "setSafetyBackup", on: e.target.checked })}
              data-testid="wizard-safety-backup"
            />{" "}
            Take a safety backup of {plan.target_database} first
          </label>
          <p className="small muted" data-testid="wizard-safety-note">
            {plan.safety_backup
              ? "A backup of the target as it is now is written before anything is replaced; the report gives its path."
              : "No safety backup: what is replaced cannot be recovered by Offsite."}
          </p>
        </div>
      )}

      {plan.warnings.length > 0 && (
        <ul className="notice notice-warn" data-testid="wizard-warnings">
          {plan.warnings.map((w) => (
            <Warning key={w} text={w} />
          ))}
        </ul>
      )}

      {(plan.connecting_superuser || state.asRole !== "") && (
        <AsRole key={state.asRole} current={state.asRole} onApply={(role) => dispatch({ type: "setAsRole", role })} />
      )}

      {needsArbitrarySqlConsent(state) && (
        <ArbitrarySql
          plan={plan}
          allowed={state.allowArbitrarySql}
          onChange={(on) => dispatch({ type: "setAllowArbitrarySql", on })}
        />
      )}
    </>
  );
}

/** What the target server lacks or another role owns: roles to create, managed schemas, owners. */
function RolesAndOwners({ state, dispatch, plan }: StepProps & { plan: DatabasePlan }) {
  return (
    <>
      {plan.missing_roles.length > 0 && (
        <div className="notice notice-warn" data-testid="wizard-missing-roles">
          <p className="notice-title">The target server lacks roles the backup uses</p>
          <ul className="small" data-testid="wizard-roles-to-create">
            {plan.roles_to_create.map((r) => (
              <li key={r.name}>
                <span className="mono">{r.name}</span>
                {r.attributes.length > 0 && <span className="mono muted"> {r.attributes.join(" ")}</span>}
                {r.member_of.length > 0 && <span> · granted {r.member_of.length === 1 ? "the role" : "the roles"} {r.member_of.join(", ")}</span>}
                {r.left_out.length > 0 && <span> · without {r.left_out.join(", ")} (needs administrator rights)</span>}
                {r.needs_password && <span> · set a password afterwards</span>}
              </li>
            ))}
          </ul>
          <label>
            <input
              type="checkbox"
              checked={state.createRoles}
              onChange={(e) => dispatch({ type: "setCreateRoles", on: e.target.checked })}
              data-testid="wizard-create-roles"
            />{" "}
            Create them as the backup describes them (attributes and memberships, no passwords)
          </label>
        </div>
      )}

      {plan.managed_schemas.length > 0 && (
        <div className="notice notice-neutral" data-testid="wizard-managed">
          <p className="notice-title">Schemas the target already has, owned by other roles</p>
          <p className="small muted">
            Their objects are kept as the target has them; the backup's rows go into their empty tables and
            the backup's objects they lack are added.
          </p>
          <ul className="small">
            {plan.managed_schemas.map((m) => (
              <li key={m.schema} data-testid={`wizard-managed-${m.schema}`}>
                <span className="mono">{m.schema}</span> (owned by {m.owner}): {plural(m.kept_objects, "object")} kept
                {m.load_rows.length > 0 && <> · rows loaded into {m.load_rows.join(", ")}</>}
                {m.kept_rows.length > 0 && <> · rows kept: {m.kept_rows.join("; ")}</>}
                {m.added.length > 0 && <> · added: {m.added.join("; ")}</>}
                {m.notes.map((n) => (
                  <div key={n} className="muted">
                    <SentenceDetails text={n} testId="wizard-managed-note-detail" />
                  </div>
                ))}
              </li>
            ))}
          </ul>
        </div>
      )}

      {(plan.owned_by_others.length > 0 || plan.superuser_only.length > 0) && (
        <div className="notice notice-warn" data-testid="wizard-owners">
          <p className="notice-title">
            {plan.connecting_role} cannot create or own everything the backup holds on this server
          </p>
          <ul className="small">
            {plan.owned_by_others.map((o) => (
              <li key={o.role}>
                owned by <span className="mono">{o.role}</span>: {o.objects.join(", ")}
              </li>
            ))}
            {plan.superuser_only.length > 0 && <li>needs administrator rights: {plan.superuser_only.join(", ")}</li>}
          </ul>
          <p className="small muted">Connect as a role with administrator rights to restore them as they are, or:</p>
          <label>
            <input
              type="checkbox"
              checked={state.noOwner}
              onChange={(e) => dispatch({ type: "setNoOwner", on: e.target.checked })}
              data-testid="wizard-no-owner"
            />{" "}
            Restore them owned by {plan.connecting_role}; leave out what cannot change owner (listed below)
          </label>
          {plan.left_out.length > 0 && (
            <ul className="small mono" data-testid="wizard-left-out">
              {plan.left_out.map((l) => (
                <li key={l}>{l}</li>
              ))}
            </ul>
          )}
        </div>
      )}
    </>
  );
}

export { DETAILS };

/** A warning: its sentence first, the engine's technical words behind "Details". */
export function Warning({ text }: { text: string }) {
  const at = text.indexOf(DETAILS);
  const shown = sentenceCase(text);
  if (at < 0) return <li data-testid="wizard-warning">{shown}</li>;
  return (
    <li data-testid="wizard-warning">
      {shown.slice(0, at)}{" "}
      <details className="warning-details" data-testid="wizard-warning-details">
        <summary>Details</summary>
        <span className="small">{shown.slice(at + DETAILS.length)}</span>
      </details>
    </li>
  );
}
