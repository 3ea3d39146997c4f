//! What a listing loop checks of every page a store answers, so a broken or hostile store can
//! neither keep it going forever nor hand it one object twice:
//!
//! - a continuation token the store already gave in this listing is a loop: refused;
//! - keys must come in strictly ascending order (S3's ListObjectsV2 promises UTF-8 binary
//!   order): a key listed twice, on one page or across pages, or one that goes back, is refused
//!   — never deduplicated, because a store that repeats keys cannot be trusted to have listed
//!   every other key once either, and an archive must never hold one object twice;
//! - more than [`MAX_EMPTY_PAGES`] empty pages in a row that still say "more" is a loop with
//!   fresh tokens: refused.
//!
//! Each refusal is an [`ErrorKind::Integrity`] error naming the bucket (and key), with a hint.

use crate::error::{Error, ErrorKind, Result};
use std::collections::HashSet;

/// Empty pages in a row (each with a continuation token) before a listing is called a loop.
pub const MAX_EMPTY_PAGES: u32 = 1_000;

/// The state of one listing (one bucket, one prefix): the tokens seen, the last key.
#[derive(Debug, Default)]
pub struct ListingGuard {
    tokens: HashSet<String>,
    last: Option<String>,
    empty_run: u32,
}

fn refused(bucket: &str, what: String) -> Error {
    Error::new(
        ErrorKind::Integrity,
        format!("listing bucket {bucket:?}: {what}"),
    )
    .with_hint(
        "the store's listing is inconsistent (a broken or hostile S3-compatible server); nothing was written from it. Try again; if it persists, report it to the store's operator",
    )
}

impl ListingGuard {
    /// A listing that continues after `key` (keys handed on before; `start-after`).
    pub fn after(key: Option<String>) -> Self {
        ListingGuard {
            last: key,
            ..Default::default()
        }
    }

    /// The last key accepted.
    pub fn last(&self) -> Option<&str> {
        self.last.as_deref()
    }

    /// Checks only a page's continuation token (for a loop that checks keys itself).
    pub fn token(&mut self, bucket: &str, next: Option<&str>) -> Result<()> {
        match next {
            Some(t) if !self.tokens.insert(t.to_string()) => Err(refused(
                bucket,
                "the store gave a continuation token it had already given (the listing would never end)".into(),
            )),
            _ => Ok(()),
        }
    }

    /// Checks one page: its keys (in the order answered) and its continuation token.
    pub fn page<'a>(
        &mut self,
        bucket: &str,
        keys: impl IntoIterator<Item = &'a str>,
        next: Option<&str>,
    ) -> Result<()> {
        let mut any = false;
        for k in keys {
            any = true;
            if let Some(l) = &self.last {
                if k == l.as_str() {
                    return Err(refused(bucket, format!("the store listed key {k:?} twice")));
                }
                if k < l.as_str() {
                    return Err(refused(
                        bucket,
                        format!("the store listed key {k:?} after {l:?}: not in ascending order"),
                    ));
                }
            }
            self.last = Some(k.to_string());
        }
        let Some(token) = next else {
            return Ok(());
        };
        self.token(bucket, Some(token))?;
        self.empty_run = if any { 0 } else { self.empty_run + 1 };
        if self.empty_run > MAX_EMPTY_PAGES {
            return Err(refused(
                bucket,
                format!("the store answered more than {MAX_EMPTY_PAGES} empty pages in a row, each saying there is more"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascending_keys_and_fresh_tokens_pass() {
        let mut g = ListingGuard::default();
        g.page("b", ["a", "b"], Some("t1")).unwrap();
        g.page("b", ["c"], Some("t2")).unwrap();
        g.page("b", [], None).unwrap();
        assert_eq!(g.last(), Some("c"));
    }

    #[test]
    fn a_repeated_token_a_repeated_key_and_a_key_going_back_are_refused() {
        let mut g = ListingGuard::default();
        g.page("b", ["a"], Some("t1")).unwrap();
        let e = g.page("b", ["b"], Some("t1")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Integrity);
        assert!(e.message().contains("continuation token"), "{e}");
        assert!(e.hint().unwrap().contains("nothing was written"));

        let mut g = ListingGuard::default();
        let e = g.page("b", ["a", "a"], None).unwrap_err();
        assert!(e.message().contains("\"a\" twice"), "{e}");
        let mut g = ListingGuard::after(Some("m".into()));
        let e = g.page("b", ["m"], None).unwrap_err();
        assert!(e.message().contains("twice"), "{e}");
        let mut g = ListingGuard::default();
        g.page("b", ["b"], Some("x")).unwrap();
        let e = g.page("b", ["a"], None).unwrap_err();
        assert!(e.message().contains("ascending"), "{e}");
    }

    #[test]
    fn endless_empty_pages_with_fresh_tokens_end() {
        let mut g = ListingGuard::default();
        let mut n = 0;
        let e = loop {
            n += 1;
            if let Err(e) = g.page("b", [], Some(&format!("t{n}"))) {
                break e;
            }
        };
        assert_eq!(n, MAX_EMPTY_PAGES + 1);
        assert!(e.message().contains("empty pages"), "{e}");
    }
}
