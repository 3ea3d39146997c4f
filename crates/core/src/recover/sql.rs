//! SQL text built from identifiers only (each quoted); values never appear here: they travel
//! as COPY data or bound parameters.

use super::schema::quote_ident;

/// `p."a", p."b"` (or `"a", "b"` without a prefix).
pub(super) fn cols(prefix: Option<&str>, cols: &[String]) -> String {
    cols.iter()
        .map(|c| match prefix {
            Some(p) => format!("{p}.{}", quote_ident(c)),
            None => quote_ident(c),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `a."k" OPERATOR("ns".=) b."k" AND …`, each key column compared by its type's own equality
/// (`ops`, from [`super::schema::eq_ops`]; `pg_catalog`'s where one is missing): never an
/// operator found through the session's `search_path`, and an extension's type (`citext`,
/// `ltree`) keeps its own `=` where the path is fixed to `pg_catalog`.
pub(super) fn key_eq(a: &str, b: &str, key: &[String], ops: &[String]) -> String {
    key.iter()
        .enumerate()
        .map(|(i, k)| {
            let k = quote_ident(k);
            let op = ops.get(i).map(String::as_str).unwrap_or(CATALOG_EQ);
            format!("{a}.{k} {op} {b}.{k}")
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// `pg_catalog`'s `=`, named so that no path can change it.
pub(super) const CATALOG_EQ: &str = "OPERATOR(pg_catalog.=)";

/// `"c" = s."c", …`.
pub(super) fn set_from(src: &str, cols: &[String]) -> String {
    cols.iter()
        .map(|c| {
            let c = quote_ident(c);
            format!("{c} = {src}.{c}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The text of a whole row's listed columns, for comparing rows (`ROW(p."a", …)::text`).
pub(super) fn row_text(prefix: &str, c: &[String]) -> String {
    format!("ROW({})::text", cols(Some(prefix), c))
}

/// `"schema"."table"`.
pub(super) fn table(schema: &str, name: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(name))
}

/// A temporary table of this recovery: `pg_temp."offsite_<what>_<i>"`.
pub(super) fn temp(what: &str, i: usize) -> String {
    format!("pg_temp.{}", quote_ident(&format!("offsite_{what}_{i}")))
}

/// A one-column-row COPY into `temp` (text format).
pub(super) fn copy_in(temp: &str, c: &[String], extra: &[&str]) -> String {
    let mut list = cols(None, c);
    for e in extra {
        list.push_str(", ");
        list.push_str(&quote_ident(e));
    }
    format!("COPY {temp} ({list}) FROM STDIN")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_quoted_and_values_never_appear() {
        let c = vec!["id".to_string(), "we\"ird; DROP".to_string()];
        assert_eq!(cols(Some("s"), &c), r#"s."id", s."we""ird; DROP""#);
        assert_eq!(
            key_eq("t", "s", &c[..1], &[]),
            r#"t."id" OPERATOR(pg_catalog.=) s."id""#
        );
        assert_eq!(
            key_eq("t", "s", &c, &[r#"OPERATOR("ext".=)"#.into()]),
            r#"t."id" OPERATOR("ext".=) s."id" AND t."we""ird; DROP" OPERATOR(pg_catalog.=) s."we""ird; DROP""#
        );
        assert_eq!(table("a.b", "c\"d"), r#""a.b"."c""d""#);
    }
}
