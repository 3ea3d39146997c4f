import type { AppInfo } from "../bindings";

/**
 * Settings → About: the app's version and the formats its engine reads, as `offsite --version`
 * prints them (both come from the engine's `version_info`). Nothing while the info is loading or
 * could not be read.
 */
export function About({ info }: { info: AppInfo | null }) {
  if (!info) return null;
  const v = info.versions;
  return (
    <section className="panel" aria-labelledby="settings-about-title" data-testid="settings-about">
      <h2 className="panel-title" id="settings-about-title">
        About
      </h2>
      <dl className="info">
        <div>
          <dt>Version</dt>
          <dd data-testid="about-version">
            {info.name} {v.version}
          </dd>
        </div>
        <div>
          <dt>Archive format</dt>
          <dd data-testid="about-archive-format">
            {v.archive_format} (reads {v.archive_formats_read.join(", ")})
          </dd>
        </div>
        <div>
          <dt>Catalog schema</dt>
          <dd data-testid="about-catalog-schema">{v.catalog_schema}</dd>
        </div>
        <div>
          <dt>Data folder</dt>
          <dd data-testid="about-data-dir">
            <code>{info.data_dir}</code>
          </dd>
        </div>
      </dl>
    </section>
  );
}
