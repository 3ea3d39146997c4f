//! Which entries each part of a streamed parallel restore runs (see [`super::parallel`]).
//!
//! The largest table's rows are loaded by a pg_restore of their own, streamed from the archive
//! while the other members are extracted; the others (data and post-data) by `pg_restore -j N`
//! once they are extracted (*main*). What depends on the streamed table (its indexes,
//! constraints, triggers, policies, grants, foreign keys that point at it, views' refreshes over
//! it) is never in *main*, so that nothing there waits on the streamed table's lock or reads it
//! half loaded, and so that a streamed member that fails its check leaves no index or
//! constraint built over an empty table: what depends on it alone runs as soon as its rows are
//! committed (*early*), what depends on it and on *main* once both are done (*late*).
//!
//! Which entries come after the pre-data section is pg_restore's own decision
//! (`pg_restore --list --section=data --section=post-data`, over the dump's own order, exactly
//! as the pre-data run decided what it restored); the lists here only divide those lines, so
//! every entry is restored exactly once, whichever part runs it.

use super::toc::FullToc;
use crate::archive::{self, Manifest, MemberEntry};
use std::collections::HashSet;

/// The member streamed and its TABLE DATA entry.
#[derive(Debug, Clone)]
pub(super) struct Pick {
    pub member: MemberEntry,
    /// Its dump id.
    pub id: i32,
    /// Its line of the table of contents (the `-L` list of the streaming pg_restore).
    pub line: String,
}

/// The data member worth streaming: the largest `database/<id>.dat` of at least `min` bytes
/// whose id is a TABLE DATA entry of `toc` (large objects and anything else are extracted).
pub(super) fn pick(manifest: &Manifest, toc: &FullToc, min: u64) -> Option<Pick> {
    let member = manifest
        .members
        .iter()
        .filter(|m| m.size >= min)
        .filter_map(|m| Some((m, data_id(&m.name)?)))
        .max_by(|a, b| {
            a.0.size
                .cmp(&b.0.size)
                .then_with(|| b.0.name.cmp(&a.0.name))
        })?;
    let (member, id) = member;
    let item = toc
        .items
        .iter()
        .find(|i| i.id == id && i.desc == "TABLE DATA")?;
    let line = toc.list.lines().nth(item.line)?.to_string();
    Some(Pick {
        member: member.clone(),
        id,
        line,
    })
}

/// The dump id of a table data file `database/<id>.dat`.
fn data_id(name: &str) -> Option<i32> {
    let digits = name
        .strip_prefix(archive::DATABASE_DIR_PREFIX)?
        .strip_suffix(".dat")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&id| id > 0)
}

/// The dump ids that depend, directly or through others, on the streamed entry `id` or on the
/// table it fills; and every materialized view's refresh (its dependencies on tables are not
/// always recorded, and a refresh before the streamed rows are committed would miss them).
fn dependents(toc: &FullToc, id: i32) -> HashSet<i32> {
    let mut set: HashSet<i32> = HashSet::from([id]);
    if let Some(data) = toc.items.iter().find(|i| i.id == id) {
        set.extend(data.deps.iter().copied());
        // The table itself (the schema-only listing the dependencies come from leaves the data
        // entries out): pg_dump tags a table's data with the table's own schema and name.
        set.extend(
            toc.items
                .iter()
                .filter(|t| t.desc == "TABLE" && t.schema == data.schema && t.tag == data.tag)
                .map(|t| t.id),
        );
    }
    loop {
        let before = set.len();
        for item in &toc.items {
            if !set.contains(&item.id) && item.deps.iter().any(|d| set.contains(d)) {
                set.insert(item.id);
            }
        }
        if set.len() == before {
            break;
        }
    }
    set.extend(
        toc.items
            .iter()
            .filter(|i| i.desc == "MATERIALIZED VIEW DATA")
            .map(|i| i.id),
    );
    set
}

/// The dump id a line of `pg_restore --list` names (`None` for comments and blank lines).
fn line_id(line: &str) -> Option<i32> {
    let line = line.trim_start();
    if line.starts_with(';') {
        return None;
    }
    line.split(';').next()?.trim().parse().ok()
}

/// The lines after the pre-data section, divided among the parts of a streamed restore (the
/// streamed entry is in none of them).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Lists {
    /// Everything that does not depend on the streamed table: `pg_restore -j` once the other
    /// members are extracted, while the streamed table loads.
    pub main: String,
    /// What depends on the streamed table and on nothing of `main` (its own indexes,
    /// constraints, triggers, policies, grants): as soon as its rows are committed, beside
    /// `main` (the order `-j` itself would take, where these follow the table's data).
    pub early: String,
    /// What depends on both (a foreign key between it and another table, a materialized view's
    /// refresh): once everything else is done.
    pub late: String,
}

/// `after_pre` (the lines pg_restore lists for `--section=data --section=post-data`) divided
/// into [`Lists`].
pub(super) fn lists(after_pre: &str, toc: &FullToc, id: i32) -> Lists {
    let tail_ids = dependents(toc, id);
    let entries: Vec<(i32, &str)> = after_pre
        .lines()
        .filter_map(|l| Some((line_id(l)?, l)))
        .filter(|(e, _)| *e != id)
        .collect();
    let main_ids: HashSet<i32> = entries
        .iter()
        .map(|(e, _)| *e)
        .filter(|e| !tail_ids.contains(e))
        .collect();
    // A table whose rows `main` loads counts as `main` (pg_restore makes what depends on a
    // table wait for its data).
    let mut main_deps = main_ids.clone();
    for data in toc
        .items
        .iter()
        .filter(|i| i.desc == "TABLE DATA" && main_ids.contains(&i.id))
    {
        main_deps.extend(
            toc.items
                .iter()
                .filter(|t| t.desc == "TABLE" && t.schema == data.schema && t.tag == data.tag)
                .map(|t| t.id),
        );
    }
    let by_id = toc.by_id();
    let tail: Vec<i32> = entries
        .iter()
        .map(|(e, _)| *e)
        .filter(|e| tail_ids.contains(e))
        .collect();
    let mut late: HashSet<i32> = HashSet::new();
    loop {
        let before = late.len();
        for e in &tail {
            let Some(item) = by_id.get(e).map(|&i| &toc.items[i]) else {
                late.insert(*e);
                continue;
            };
            if item.desc == "MATERIALIZED VIEW DATA"
                || item
                    .deps
                    .iter()
                    .any(|d| main_deps.contains(d) || late.contains(d))
            {
                late.insert(*e);
            }
        }
        if late.len() == before {
            break;
        }
    }
    let mut out = Lists::default();
    for (e, line) in entries {
        let to = if main_ids.contains(&e) {
            &mut out.main
        } else if late.contains(&e) {
            &mut out.late
        } else {
            &mut out.early
        };
        to.push_str(line);
        to.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::toc::{attach_sql, parse_line};
    use super::*;
    use crate::archive::testutil::manifest;

    /// A table of contents: `pr_big` (214, data 3001) with an index and a foreign key pointing
    /// at it, `small` (215, data 3002) with its own index, a view over `pr_big` and its
    /// materialized view's refresh, a grant on `pr_big`.
    fn toc() -> FullToc {
        let list = "\
;
; Archive created at 2026-11-25 08:00:00 UTC
;
214; 1259 16385 TABLE public pr_big o
215; 1259 16392 TABLE public small o
216; 1259 16400 MATERIALIZED VIEW public big_sum o
3001; 0 16385 TABLE DATA public pr_big o
3002; 0 16392 TABLE DATA public small o
3100; 2606 16391 CONSTRAINT public pr_big pr_big_pkey o
3101; 2606 16396 CONSTRAINT public small small_pkey o
3102; 2606 16397 FK CONSTRAINT public small small_big_fk o
3103; 0 16400 MATERIALIZED VIEW DATA public big_sum o
3104; 0 0 ACL public TABLE pr_big o
";
        let items: Vec<_> = list
            .lines()
            .enumerate()
            .filter_map(|(i, l)| parse_line(l, i))
            .collect();
        let mut toc = FullToc {
            list: list.to_string(),
            items,
            ..Default::default()
        };
        attach_sql(
            &mut toc.items,
            "--\n-- TOC entry 3100 (class 2606 OID 16391)\n-- Dependencies: 214\n\
             --\n-- TOC entry 3101 (class 2606 OID 16396)\n-- Dependencies: 215\n\
             --\n-- TOC entry 3102 (class 2606 OID 16397)\n-- Dependencies: 215 3100\n\
             --\n-- TOC entry 3104 (class 0 OID 0)\n-- Dependencies: 214\n",
        );
        toc
    }

    fn member(name: &str, size: u64) -> MemberEntry {
        MemberEntry {
            name: name.into(),
            size,
            sha256: "0".repeat(64),
        }
    }

    #[test]
    fn the_largest_table_data_member_over_the_floor_is_streamed() {
        let toc = toc();
        let mut m = manifest();
        m.members = vec![
            member("database/toc.dat", 90_000_000),
            member("database/3002.dat", 6_000_000),
            member("database/3001.dat", 8_000_000),
            member("database/blob_16501.dat", 50_000_000),
            member("storage/b/x.dat", 99_000_000),
        ];
        let p = pick(&m, &toc, 1_000_000).expect("a member to stream");
        assert_eq!((p.member.name.as_str(), p.id), ("database/3001.dat", 3001));
        assert_eq!(p.line, "3001; 0 16385 TABLE DATA public pr_big o");
        // Under the floor: nothing streamed.
        assert!(pick(&m, &toc, 9_000_000).is_none());
        // A data file whose id is no TABLE DATA entry is not streamed.
        m.members = vec![member("database/3100.dat", 8_000_000)];
        assert!(pick(&m, &toc, 1).is_none());
        for bad in [
            "database/.dat",
            "database/x1.dat",
            "database/0.dat",
            "database/-3.dat",
        ] {
            assert_eq!(data_id(bad), None, "{bad}");
        }
    }

    #[test]
    fn what_depends_on_the_streamed_table_waits_for_it_and_the_rest_goes_first() {
        let toc = toc();
        // What pg_restore lists after the pre-data section (the view and tables are pre-data).
        let after_pre = "\
;
; Selected TOC Entries:
;
3001; 0 16385 TABLE DATA public pr_big o
3002; 0 16392 TABLE DATA public small o
3100; 2606 16391 CONSTRAINT public pr_big pr_big_pkey o
3101; 2606 16396 CONSTRAINT public small small_pkey o
3102; 2606 16397 FK CONSTRAINT public small small_big_fk o
3103; 0 16400 MATERIALIZED VIEW DATA public big_sum o
3104; 0 0 ACL public TABLE pr_big o
";
        let l = lists(after_pre, &toc, 3001);
        assert_eq!(
            l.main,
            "3002; 0 16392 TABLE DATA public small o\n\
             3101; 2606 16396 CONSTRAINT public small small_pkey o\n"
        );
        // Its own key and grant as soon as its rows are in; the foreign key from `small` (whose
        // rows `main` loads) and the refresh once everything is.
        assert_eq!(
            l.early,
            "3100; 2606 16391 CONSTRAINT public pr_big pr_big_pkey o\n\
             3104; 0 0 ACL public TABLE pr_big o\n"
        );
        assert_eq!(
            l.late,
            "3102; 2606 16397 FK CONSTRAINT public small small_big_fk o\n\
             3103; 0 16400 MATERIALIZED VIEW DATA public big_sum o\n"
        );
        // Every line after the pre-data section is in exactly one part (or streamed).
        let all: Vec<&str> = after_pre.lines().filter(|l| line_id(l).is_some()).collect();
        let parts = l.main.lines().count() + l.early.lines().count() + l.late.lines().count() + 1;
        assert_eq!(parts, all.len());
    }
}
