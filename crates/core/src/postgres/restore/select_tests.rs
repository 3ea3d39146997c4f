use super::super::toc::parse_line;
use super::*;

fn toc(lines: &[(&str, &[i32], &str)]) -> FullToc {
    let list = lines.iter().map(|l| l.0).collect::<Vec<_>>().join("\n");
    let items = lines
        .iter()
        .enumerate()
        .map(|(i, (l, deps, sql))| {
            let mut it = parse_line(l, i).unwrap();
            it.deps = deps.to_vec();
            it.sql = sql.to_string();
            it
        })
        .collect();
    FullToc {
        list,
        items,
        ..Default::default()
    }
}

fn shop() -> FullToc {
    toc(&[
        ("1; 0 0 ENCODING - ENCODING ", &[], ""),
        ("10; 1247 1 TYPE public order_status postgres", &[], ""),
        ("11; 1259 2 TABLE public customers postgres", &[], ""),
        ("12; 1259 3 TABLE public orders postgres", &[10], ""),
        (
            "13; 1259 4 SEQUENCE public orders_id_seq postgres",
            &[12],
            "",
        ),
        ("14; 1259 5 TABLE public order_items postgres", &[], ""),
        ("15; 1259 6 VIEW public big_orders postgres", &[12], ""),
        ("16; 0 3 TABLE DATA public orders postgres", &[], ""),
        ("17; 0 2 TABLE DATA public customers postgres", &[], ""),
        (
            "18; 0 0 SEQUENCE SET public orders_id_seq postgres",
            &[],
            "",
        ),
        (
            "19; 2606 7 CONSTRAINT public orders orders_pkey postgres",
            &[12],
            "",
        ),
        (
            "20; 2606 8 CONSTRAINT public customers customers_pkey postgres",
            &[11],
            "",
        ),
        (
            "21; 1259 9 INDEX public orders_at_idx postgres",
            &[12],
            "CREATE INDEX orders_at_idx ON public.orders USING btree (at);",
        ),
        (
            "22; 2606 10 FK CONSTRAINT public orders orders_customer_fkey postgres",
            &[20, 11, 12],
            "",
        ),
        (
            "23; 2606 11 FK CONSTRAINT public order_items order_items_order_fkey postgres",
            &[19, 12, 14],
            "",
        ),
        ("24; 0 0 COMMENT public TABLE orders postgres", &[12], ""),
        ("25; 0 0 ACL public TABLE customers postgres", &[11], ""),
        ("26; 3256 12 POLICY public orders own postgres", &[12], ""),
    ])
}

fn included(t: &FullToc, s: &Selected) -> Vec<String> {
    t.items
        .iter()
        .filter(|i| s.include.contains(&i.line))
        .map(|i| format!("{} {}", i.desc, i.tag))
        .collect()
}

#[test]
fn a_table_comes_with_what_hangs_on_it_and_what_the_target_lacks() {
    let t = shop();
    let mut target = TargetNames::default();
    target
        .relations
        .insert(("public".into(), "customers".into()));
    target
        .relations
        .insert(("public".into(), "order_items".into()));
    let sel = Selection {
        tables: vec!["orders".into()],
        ..Default::default()
    };
    let s = select(&t, &sel, &target).unwrap();
    assert_eq!(
        included(&t, &s),
        vec![
            "ENCODING ENCODING",
            "TYPE order_status",
            "TABLE orders",
            "SEQUENCE orders_id_seq",
            "TABLE DATA orders",
            "SEQUENCE SET orders_id_seq",
            "CONSTRAINT orders orders_pkey",
            "INDEX orders_at_idx",
            "FK CONSTRAINT orders orders_customer_fkey",
            "FK CONSTRAINT order_items order_items_order_fkey",
            "COMMENT TABLE orders",
            "POLICY orders own",
        ]
    );
    assert_eq!(s.plan.tables, vec!["public.orders"]);
    assert_eq!(s.plan.dependencies, vec!["type public.order_status"]);
    assert_eq!(s.plan.notes.len(), 3, "{:#?}", s.plan.notes);
    assert!(
        s.plan.notes[0].contains("orders_customer_fkey") && s.plan.notes[0].contains("must hold")
    );
    // A sentence first, the constraint behind Details (issue 44: "Foreign key … of …" was
    // the first words the review said).
    for n in &s.plan.notes[..2] {
        let (sentence, detail) = n.split_once(DETAILS).expect("a sentence, then details");
        assert!(!sentence.contains("_fkey"), "{n}");
        assert!(detail.starts_with("foreign key "), "{n}");
    }
    assert!(s.plan.notes[0].starts_with(
        "the table public.orders keeps its link to public.customers, which is not restored"
    ));
    assert!(
        s.plan.notes[1].contains("order_items_order_fkey")
            && s.plan.notes[1].contains("added back")
    );
    assert!(s.plan.notes[2].contains("view public.big_orders"));

    // The target has the type (the original database): it is not restored again.
    target
        .types
        .insert(("public".into(), "order_status".into()));
    let s = select(&t, &sel, &target).unwrap();
    assert!(s.plan.dependencies.is_empty());
    assert!(!included(&t, &s).contains(&"TYPE order_status".to_string()));
}

#[test]
fn a_new_database_gets_no_foreign_keys_to_what_it_lacks() {
    let t = shop();
    let sel = Selection {
        tables: vec!["public.orders".into()],
        what: SelectWhat::Schema,
        ..Default::default()
    };
    let s = select(&t, &sel, &TargetNames::default()).unwrap();
    let inc = included(&t, &s);
    assert!(
        !inc.iter().any(|i| i.starts_with("FK CONSTRAINT")),
        "{inc:?}"
    );
    assert!(
        !inc.iter()
            .any(|i| i.starts_with("TABLE DATA") || i.starts_with("SEQUENCE SET")),
        "{inc:?}"
    );
    assert_eq!(s.plan.left_out_keys.len(), 1, "{:#?}", s.plan);
    let k = &s.plan.left_out_keys[0];
    assert_eq!(k.table, "public.orders");
    assert_eq!(k.references, vec!["public.customers".to_string()]);
    assert!(
        k.sentence()
            .starts_with("public.orders will not check that its customers exist, because public.customers is not restored"),
        "{}",
        k.sentence()
    );
}

#[test]
fn rows_only_and_side_schemas() {
    let t = shop();
    let sel = Selection {
        tables: vec!["orders".into()],
        what: SelectWhat::Data,
        ..Default::default()
    };
    let s = select(&t, &sel, &TargetNames::default()).unwrap();
    assert_eq!(
        included(&t, &s),
        vec![
            "ENCODING ENCODING",
            "TABLE DATA orders",
            "SEQUENCE SET orders_id_seq"
        ]
    );

    let mut target = TargetNames::default();
    target.schemas.insert("public".into());
    let sel = Selection {
        tables: vec!["orders".into()],
        into_schema: Some("restored".into()),
        ..Default::default()
    };
    let s = select(&t, &sel, &target).unwrap();
    assert!(s.before[0].starts_with("ALTER SCHEMA \"public\" RENAME TO \"public_offsite_aside_"));
    assert_eq!(s.before[1], "CREATE SCHEMA \"public\";");
    assert_eq!(
        s.after[0],
        "ALTER SCHEMA \"public\" RENAME TO \"restored\";"
    );
    assert!(s.after[1].ends_with("RENAME TO \"public\";"));
    // The type goes into the side schema with the table.
    assert_eq!(s.plan.dependencies, vec!["type public.order_status"]);
    target.schemas.insert("restored".into());
    assert_eq!(select(&t, &sel, &target).unwrap().blockers.len(), 1);
}

#[test]
fn unknown_names_are_refused_with_what_there_is() {
    let t = shop();
    let e = select(
        &t,
        &Selection {
            tables: vec!["nope".into()],
            ..Default::default()
        },
        &TargetNames::default(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.hint().unwrap().contains("public.orders"));
    assert_eq!(
        parse_table("\"Odd\".\"T x\"").unwrap(),
        ("Odd".into(), "T x".into())
    );
    assert!(parse_table("a.b.c").is_err());
}
