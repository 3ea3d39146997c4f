// The choices of "Encrypted connection (TLS)", in plain words first and libpq's sslmode after
// (issue 44: "disable: never use TLS"): one list for every form that names a server.
export function TlsOptions() {
  return (
    <>
      <option value="disable">Never (disable)</option>
      <option value="prefer">When the server offers it (prefer)</option>
      <option value="require">Always, certificate not checked (require)</option>
      <option value="verify-full">Always, certificate checked (verify-full)</option>
    </>
  );
}
