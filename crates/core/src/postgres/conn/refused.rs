//! A server that refused to let a user in, said in the app's words: one sentence naming the
//! user, the next step as the hint, and what the server said kept as the error's detail.
//! Both ways of connecting (the driver's error codes and the client tools' stderr) end here.

use super::DB_AUTH_HINT;
use crate::error::{Error, ErrorKind};

/// Why the server refused, as far as its own words tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    /// `password authentication failed` (SQLSTATE 28P01).
    Password,
    /// `no password supplied`: the server wants one and none was given.
    NoPassword,
    /// `no pg_hba.conf entry …, no encryption`: the server lets this user in only over TLS.
    NeedsTls,
    /// `no pg_hba.conf entry`: the server's rules do not let this user in from here.
    NotAllowed,
    /// Any other refusal (SQLSTATE 28000).
    Other,
}

fn refusal(server_said: &str) -> Refusal {
    let lower = server_said.to_lowercase();
    if lower.contains("no password supplied") {
        Refusal::NoPassword
    } else if lower.contains("pg_hba.conf") && lower.contains("no encryption") {
        Refusal::NeedsTls
    } else if lower.contains("pg_hba.conf") {
        Refusal::NotAllowed
    } else if lower.contains("password authentication failed") {
        Refusal::Password
    } else {
        Refusal::Other
    }
}

/// The user the server named (`… for user "app"`), when the caller does not know it.
pub(crate) fn user_named_in(server_said: &str) -> Option<String> {
    static USER: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re =
        USER.get_or_init(|| regex::Regex::new(r#"for user "([^"\n]{1,128})""#).expect("regex"));
    re.captures(server_said).map(|c| c[1].to_string())
}

/// The error of a refused login of `user` (when known): kind [`ErrorKind::Auth`], a sentence in
/// the app's words, the next step, and `server_said` (already redacted) as the detail. A wrong
/// or missing password gets [`DB_AUTH_HINT`], which the engine replaces with where the saved
/// password lives ([`crate::ops::password_hint`]).
pub fn login_refused(user: Option<&str>, server_said: String) -> Error {
    let named = user
        .map(str::to_string)
        .or_else(|| user_named_in(&server_said));
    let who = named
        .as_deref()
        .map(|u| format!(" for user {u}"))
        .unwrap_or_default();
    let user_word = named
        .as_deref()
        .map(|u| format!("user {u}"))
        .unwrap_or_else(|| "this user".to_string());
    let (message, hint) = match refusal(&server_said) {
        Refusal::Password => (
            format!("The database refused the password{who}."),
            DB_AUTH_HINT.to_string(),
        ),
        Refusal::NoPassword => (
            format!("The database asks for a password{who}, and none was given."),
            DB_AUTH_HINT.to_string(),
        ),
        Refusal::NeedsTls => (
            format!(
                "The database rejects connections with no encryption: it lets {user_word} in only over TLS."
            ),
            "Set the project's TLS to require (or verify-full) in Edit credentials (`--tls require` on the command line).".to_string(),
        ),
        Refusal::NotAllowed => (
            format!("The database does not let {user_word} connect from this computer."),
            "Allow it in the server's pg_hba.conf, or connect as a user that may.".to_string(),
        ),
        Refusal::Other => (
            format!("The database refused {user_word}."),
            DB_AUTH_HINT.to_string(),
        ),
    };
    Error::new(ErrorKind::Auth, message)
        .with_hint(hint)
        .with_detail(server_said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_password_is_one_sentence_with_the_servers_words_in_the_detail() {
        let said = "FATAL:  password authentication failed for user \"app\"".to_string();
        let e = login_refused(None, said.clone());
        assert_eq!(e.kind(), ErrorKind::Auth);
        assert_eq!(
            e.message(),
            "The database refused the password for user app."
        );
        assert!(!e.message().contains("authentication failed"));
        assert_eq!(e.hint(), Some(DB_AUTH_HINT));
        assert_eq!(e.detail(), Some(said.as_str()));
        // The caller's user wins over what the text says.
        let e = login_refused(Some("shop"), said);
        assert_eq!(
            e.message(),
            "The database refused the password for user shop."
        );
    }

    #[test]
    fn other_refusals_say_what_to_do() {
        let e = login_refused(Some("app"), "fe_sendauth: no password supplied".into());
        assert_eq!(
            e.message(),
            "The database asks for a password for user app, and none was given."
        );
        let e = login_refused(
            Some("app"),
            "FATAL: no pg_hba.conf entry for host \"10.0.0.1\", user \"app\"".into(),
        );
        assert!(e.message().contains("does not let user app connect"), "{e}");
        assert!(e.hint().unwrap().contains("pg_hba.conf"));
        // A server that takes this user only over TLS says so (the project's TLS is the fix).
        let e = login_refused(
            Some("postgres"),
            "FATAL: no pg_hba.conf entry for host \"127.0.0.1\", user \"postgres\", database \"d\", no encryption".into(),
        );
        assert!(
            e.message()
                .contains("rejects connections with no encryption"),
            "{e}"
        );
        assert!(e.hint().unwrap().contains("require"), "{e}");
        // A user name the server quotes is bounded (no run-away capture).
        let long = format!(
            "password authentication failed for user \"{}\"",
            "x".repeat(500)
        );
        assert_eq!(
            login_refused(None, long).message(),
            "The database refused the password."
        );
    }
}
