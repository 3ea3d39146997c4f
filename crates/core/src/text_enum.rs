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
