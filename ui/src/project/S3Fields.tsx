// The connection fields of an S3-compatible store (endpoint, region, access key id, secret
// access key, path-style addressing), shared by the project's storage form and its artifact
// bucket form. The secret is write-only: empty keeps the stored one.
import { useId } from "react";

export type S3Connection = {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secret: string;
  pathStyle: boolean;
};

/** The form's values for a saved connection (never its secret), or a new one's defaults. */
export function s3Connection(
  saved: { endpoint?: string | null; region: string; access_key_id: string; path_style?: boolean | null } | null,
): S3Connection {
  return {
    endpoint: saved?.endpoint ?? "",
    region: saved?.region ?? "us-east-1",
    accessKeyId: saved?.access_key_id ?? "",
    secret: "",
    pathStyle: saved?.path_style ?? true,
  };
}

/** The settings as the engine takes them (`secret_access_key: null` keeps the stored one). */
export function s3Settings(c: S3Connection) {
  return {
    endpoint: c.endpoint.trim() || null,
    region: c.region.trim(),
    access_key_id: c.accessKeyId.trim(),
    secret_access_key: c.secret === "" ? null : c.secret,
    path_style: c.pathStyle,
  };
}

export function S3ConnectionFields({
  value,
  onChange,
  hasStoredSecret,
  testIdPrefix,
}: {
  value: S3Connection;
  onChange: (patch: Partial<S3Connection>) => void;
  /** A secret is stored: the empty field keeps it. */
  hasStoredSecret: boolean;
  /** `components-field` → `components-field-endpoint`, `components-field-secret`, … */
  testIdPrefix: string;
}) {
  const id = useId();
  const text = (key: "endpoint" | "region" | "accessKeyId", label: string, testId: string, placeholder?: string) => (
    <div className="field">
      <label htmlFor={`${id}-${testId}`}>{label}</label>
      <input
        id={`${id}-${testId}`}
        value={value[key]}
        onChange={(e) => onChange({ [key]: e.target.value })}
        placeholder={placeholder}
        autoComplete="off"
        spellCheck={false}
        data-testid={`${testIdPrefix}-${testId}`}
      />
    </div>
  );
  return (
    <>
      {text("endpoint", "Endpoint", "endpoint", "https://REF.storage.supabase.co/storage/v1/s3 (empty: AWS S3)")}
      <div className="field-grid">
        {text("region", "Region", "region")}
        {text("accessKeyId", "Access key id", "key-id")}
        <div className="field">
          <label htmlFor={`${id}-secret`}>Secret access key</label>
          <input
            id={`${id}-secret`}
            type="password"
            value={value.secret}
            onChange={(e) => onChange({ secret: e.target.value })}
            autoComplete="new-password"
            placeholder={hasStoredSecret ? "leave empty to keep the stored one" : undefined}
            data-testid={`${testIdPrefix}-secret`}
          />
        </div>
      </div>
      <label className="check">
        <input
          type="checkbox"
          checked={value.pathStyle}
          onChange={(e) => onChange({ pathStyle: e.target.checked })}
          data-testid={`${testIdPrefix}-path-style`}
        />{" "}
        Path-style addressing (Supabase, MinIO and most self-hosted stores)
      </label>
    </>
  );
}
