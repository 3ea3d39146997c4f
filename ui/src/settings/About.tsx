import type { AppInfo } from "../bindings";
import { Details } from "../components/Details";

/**
 * What the backups this build opens are, in a sentence: every format from the first up to its
 * own means "its own and those of every earlier version" (issue 44: "Archive format 2 (reads
 * 1, 2)" was an engine term on a screen; the numbers are behind Details).
 */
export function opensSentence(v: AppInfo["versions"]): string {
  const all = v.archive_formats_read;
  const fromFirst = all.length === v.archive_format && all.every((f, i) => f === i + 1);
  return fromFirst
    ? "Backups made by this version and by every earlier version of Offsite."
    : "Backups made by this version and by some earlier versions of Offsite (see Details).";
}

/**
 * Settings → About: the app's version, which backups it opens and where it keeps its data, in
 * plain words; the archive format and catalog schema numbers (as `offsite --version` prints
 * them; both from the engine's `version_info`) behind Details. Nothing while the info is loading
 * or could not be read.
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
          <dt>Opens</dt>
          <dd data-testid="about-opens">{opensSentence(v)}</dd>
        </div>
        <div>
          <dt>Data folder</dt>
          <dd data-testid="about-data-dir">
            <code>{info.data_dir}</code>
          </dd>
        </div>
      </dl>
      <Details testId="about-technical">
        <dl className="info">
          <div>
            <dt>Archive file version it writes</dt>
            <dd data-testid="about-archive-format">
              {v.archive_format} (reads {v.archive_formats_read.join(", ")})
            </dd>
          </div>
          <div>
            <dt>Catalog schema</dt>
            <dd data-testid="about-catalog-schema">{v.catalog_schema}</dd>
          </div>
        </dl>
      </Details>
    </section>
  );
}
