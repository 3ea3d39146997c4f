//! [`text_enum!`]: an enum whose every variant is one fixed word, the same word in the catalog
//! (a TEXT column), in JSON (serde), in the TypeScript bindings (specta, a string-literal union)
//! and in messages (`Display`).
//!
//! The enum is declared with its own derives (serde with `rename_all = "snake_case"`, specta), and
//! each variant's word after `=`; the macro adds [`as_str`](self), `parse`, `ALL`, `Display`,
//! `FromStr` (an [`Error`](crate::Error) with code `invalid_input` for an unknown word) and sqlx's
//! `Type`/`Encode`/`Decode` for SQLite (an unknown word read from the catalog is a decode error,
//! which the catalog reports as a `catalog` error saying the column and the word). Every enum made
//! with it is tested to give the same word through serde as through `as_str`
//! (`words_are_the_same_in_the_catalog_and_in_json` below).

/// Declare an enum stored and sent as text: see the [module](self).
///
/// ```ignore
/// text_enum! {
///     /// Where a job is in its life.
///     #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
///     #[cfg_attr(feature = "specta", derive(specta::Type))]
///     #[serde(rename_all = "snake_case")]
///     pub enum JobState as "job state" { Running = "running", Failed = "failed" }
/// }
/// ```
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $what:literal {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word the catalog stores and JSON carries.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// The value whose word is `s` (`None` for a word no variant has).
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }

            /// What the value is, in messages ("job state").
            pub const WHAT: &'static str = $what;
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::error::Error;
            fn from_str(s: &str) -> ::std::result::Result<Self, Self::Err> {
                $name::parse(s).ok_or_else(|| $crate::text_enum::unknown_word($what, s, &[$($text),+]))
            }
        }

        impl ::sqlx::Type<::sqlx::Sqlite> for $name {
            fn type_info() -> ::sqlx::sqlite::SqliteTypeInfo {
                <str as ::sqlx::Type<::sqlx::Sqlite>>::type_info()
            }
            fn compatible(ty: &::sqlx::sqlite::SqliteTypeInfo) -> bool {
                <str as ::sqlx::Type<::sqlx::Sqlite>>::compatible(ty)
            }
        }

        impl<'q> ::sqlx::Encode<'q, ::sqlx::Sqlite> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <::sqlx::Sqlite as ::sqlx::Database>::ArgumentBuffer<'q>,
            ) -> ::std::result::Result<::sqlx::encode::IsNull, ::sqlx::error::BoxDynError> {
                <&str as ::sqlx::Encode<'q, ::sqlx::Sqlite>>::encode(self.as_str(), buf)
            }
        }

        impl<'r> ::sqlx::Decode<'r, ::sqlx::Sqlite> for $name {
            fn decode(
                value: <::sqlx::Sqlite as ::sqlx::Database>::ValueRef<'r>,
            ) -> ::std::result::Result<Self, ::sqlx::error::BoxDynError> {
                let s = <&str as ::sqlx::Decode<'r, ::sqlx::Sqlite>>::decode(value)?;
                $name::parse(s).ok_or_else(|| {
                    $crate::text_enum::unknown_stored_word($what, s).into()
                })
            }
        }
    };
}
pub(crate) use text_enum;

use crate::error::Error;

/// At most this many characters of an unknown word are quoted in a message.
const QUOTE_MAX: usize = 40;

fn quote(s: &str) -> String {
    let short: String = s.chars().take(QUOTE_MAX).collect();
    if short.len() < s.len() {
        format!("{short:?}…")
    } else {
        format!("{short:?}")
    }
}

/// The error for a word given from outside (an argument, a filter) that no variant has.
pub(crate) fn unknown_word(what: &str, s: &str, words: &[&str]) -> Error {
    Error::invalid(format!("unknown {what} {}", quote(s)))
        .with_hint(format!("use one of: {}", words.join(", ")))
}

/// The decode error for a word read from the catalog that no variant has (a catalog written by
/// a newer Offsite, or edited by hand). sqlx wraps it with the column's name; the catalog turns
/// that into a `catalog` error.
pub(crate) fn unknown_stored_word(what: &str, s: &str) -> String {
    format!(
        "unknown {what} {} in the catalog (written by a newer Offsite?)",
        quote(s)
    )
}

#[cfg(test)]
mod tests {
    use crate::archive::BackupType;
    use crate::catalog::{
        BackupStatus, Catalog, ChangeEntity, ChangeOp, CopyState, DestinationKind, JobKind,
        JobState, JobTrigger, ScheduleKind,
    };
    use crate::error::ErrorKind;
    use crate::ops::DueRunState;
    use serde::{de::DeserializeOwned, Serialize};
    use std::fmt::Debug;
    use std::str::FromStr;

    /// What every enum made with [`text_enum!`] offers, for the generic checks below.
    trait Words:
        Copy
        + Debug
        + PartialEq
        + Serialize
        + DeserializeOwned
        + FromStr<Err = crate::Error>
        + std::fmt::Display
        + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
        + for<'q> sqlx::Encode<'q, sqlx::Sqlite>
        + sqlx::Type<sqlx::Sqlite>
        + Send
        + Unpin
        + 'static
    {
        fn all() -> &'static [Self];
        fn word(self) -> &'static str;
    }

    macro_rules! words {
        ($($t:ty),+) => {$(
            impl Words for $t {
                fn all() -> &'static [Self] { <$t>::ALL }
                fn word(self) -> &'static str { self.as_str() }
            }
        )+};
    }
    words!(
        JobKind,
        JobState,
        JobTrigger,
        BackupType,
        BackupStatus,
        ScheduleKind,
        ChangeEntity,
        ChangeOp,
        DueRunState,
        DestinationKind,
        CopyState,
        crate::ops::encryption::EncryptionMode,
        crate::catalog::BackupOrigin,
        crate::catalog::SourceKind
    );

    /// Every variant of `T`, in order, has the word of `expected` (the strings the catalog and
    /// the JSON carried before the enums), the same in SQLite (written and read back), in JSON,
    /// through `Display` and through `FromStr`.
    async fn same_words<T: Words>(c: &Catalog, expected: &[&str]) {
        let words: Vec<_> = T::all().iter().map(|v| v.word()).collect();
        assert_eq!(words, expected, "{}", std::any::type_name::<T>());
        for &v in T::all() {
            let w = v.word();
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{w}\""));
            assert_eq!(serde_json::from_str::<T>(&format!("\"{w}\"")).unwrap(), v);
            assert_eq!(v.to_string(), w);
            assert_eq!(w.parse::<T>().unwrap(), v);
            // Written as text: the stored value is the word itself.
            let (stored, kind): (String, String) = sqlx::query_as("SELECT ?, typeof(?)")
                .bind(v)
                .bind(v)
                .fetch_one(c.pool())
                .await
                .unwrap();
            assert_eq!((stored.as_str(), kind.as_str()), (w, "text"));
            // Read from text.
            let read: T = sqlx::query_scalar("SELECT ?")
                .bind(w)
                .fetch_one(c.pool())
                .await
                .unwrap();
            assert_eq!(read, v);
        }
        let e = "no such word".parse::<T>().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{e}");
        assert!(e.hint().unwrap().contains(expected[0]), "{e:?}");
        assert!(serde_json::from_str::<T>("\"no such word\"").is_err());
    }

    #[tokio::test]
    async fn words_are_the_same_in_the_catalog_and_in_json() {
        let c = Catalog::open_in_memory().await.unwrap();
        same_words::<JobKind>(
            &c,
            &[
                "backup",
                "verify",
                "restore",
                "import",
                "prune",
                "pull",
                "sync",
                "fetch_copy",
                "drill",
                "recover",
            ],
        )
        .await;
        same_words::<JobState>(
            &c,
            &[
                "running",
                "cancelling",
                "cancelled",
                "succeeded",
                "failed",
                "interrupted",
            ],
        )
        .await;
        same_words::<JobTrigger>(
            &c,
            &[
                "manual",
                "schedule",
                "catch_up",
                "retry",
                "cli",
                "retention",
            ],
        )
        .await;
        same_words::<BackupType>(&c, crate::catalog::BACKUP_TYPES).await;
        same_words::<BackupStatus>(&c, &["unverified", "verified", "corrupt", "missing"]).await;
        same_words::<ScheduleKind>(&c, &["backup", "verify", "drill"]).await;
        same_words::<ChangeEntity>(&c, &["project", "backup", "job", "drill", "notify"]).await;
        same_words::<ChangeOp>(&c, &["upsert", "delete"]).await;
        same_words::<DueRunState>(&c, &["succeeded", "failed", "skipped"]).await;
        same_words::<DestinationKind>(&c, &["folder", "s3", "rclone"]).await;
        same_words::<CopyState>(&c, &["stored", "pending"]).await;
        same_words::<crate::ops::encryption::EncryptionMode>(&c, &["off", "passphrase", "key"])
            .await;
        same_words::<crate::catalog::BackupOrigin>(
            &c,
            &["local", "server", "artifact", "imported"],
        )
        .await;
        same_words::<crate::catalog::SourceKind>(
            &c,
            &["database", "storage", "supabase", "server", "artifacts"],
        )
        .await;
    }

    #[tokio::test]
    async fn an_unknown_stored_word_is_a_catalog_error_naming_it() {
        let c = Catalog::open_in_memory().await.unwrap();
        let e = sqlx::query_scalar::<_, JobState>("SELECT 'exploded' AS state")
            .fetch_one(c.pool())
            .await
            .unwrap_err();
        let e = crate::catalog::db_error("reading a job", e);
        assert_eq!(e.kind(), ErrorKind::Catalog);
        assert_eq!(e.code(), "catalog");
        assert!(
            e.message().contains("unknown job state \"exploded\""),
            "{e}"
        );
        // A hostile word is quoted short.
        let long = "x".repeat(10_000);
        let e = sqlx::query_scalar::<_, BackupType>("SELECT ?")
            .bind(&long)
            .fetch_one(c.pool())
            .await
            .unwrap_err();
        assert!(e.to_string().len() < 300, "{e}");
    }
}
