//! The hint of a database password the server rejected, for a saved project: it depends on
//! where the password came from (the secret store in use), which only the engine knows. The
//! PostgreSQL layer gives such errors [`DB_AUTH_HINT`]; the engine replaces it
//! ([`crate::Engine`]'s backup, restore into a project and "test connection").

use crate::error::{Error, ErrorKind};
use crate::postgres::conn::DB_AUTH_HINT;
use crate::secrets::{
    env_var_for_key, project_password_key, EnvStore, SecretStore, PGPASSWORD_ENV, SECRET_STORE_ENV,
};

/// What to do when the server rejects project `project`'s database password, for the store in
/// use: with the environment store (read-only) the variable to correct; with the keychain how
/// to replace the saved password; else (a store given in memory, as the agent's) no command.
pub fn db_password_hint(store: &dyn SecretStore, project: &str) -> String {
    if store.name() == EnvStore.name() {
        let var = env_var_for_key(&project_password_key(project));
        format!(
            "Check the user name, and the password in {var} (or {PGPASSWORD_ENV}): with \
             {SECRET_STORE_ENV}=env the password comes from the environment, so correct it there."
        )
    } else if store.name() == "keychain" || store.name() == "chain" {
        format!(
            "Enter the password again in Edit credentials (on the command line: `offsite \
             project password {project}`, which reads it from standard input)."
        )
    } else {
        // Given by whoever opened the engine (the agent: its configuration).
        format!("Check the user name and the password given for project {project}.")
    }
}

/// `e` with [`db_password_hint`] when it is a rejected database password (its hint is
/// [`DB_AUTH_HINT`]) of project `project`; other errors as they are.
pub fn with_db_password_hint(e: Error, store: &dyn SecretStore, project: &str) -> Error {
    if e.kind() == ErrorKind::Auth && e.hint() == Some(DB_AUTH_HINT) {
        e.with_hint(db_password_hint(store, project))
    } else {
        e
    }
}

/// Where a missing password of a database is given, for the messages of [`no_password_given`].
pub enum PasswordFrom<'a> {
    /// A saved project's password, read from `store`.
    Project {
        store: &'a dyn SecretStore,
        project: &'a str,
    },
    /// A connection given on the spot (a restore's `--to URL`): the URL, `--password-stdin` or
    /// `PGPASSWORD`.
    Given,
}

/// Whether `e`, the error of a connection made with no password at all, means the server asks
/// for one (a refused login with [`DB_AUTH_HINT`]: not a server that refuses this user
/// whatever the password, or TLS).
pub fn asks_for_a_password(e: &Error) -> bool {
    e.kind() == ErrorKind::Auth && e.hint() == Some(DB_AUTH_HINT)
}

/// The error of a database that asks for a password when none was given anywhere: "no password
/// given for user … of project …", naming where it is given (the variable with
/// `OFFSITE_SECRET_STORE=env`), never "the password was refused" (`server` is the refusal of
/// the connection made without one, kept as the detail).
pub fn no_password_given(server: Error, user: &str, from: PasswordFrom<'_>) -> Error {
    let detail = match server.detail() {
        Some(d) => format!("{} ({d})", server.message()),
        None => server.message().to_string(),
    };
    let (message, hint) = match from {
        PasswordFrom::Project { store, project } => {
            let var = env_var_for_key(&project_password_key(project));
            let env = store.name() == EnvStore.name();
            let message = if env {
                format!(
                    "No password given for user {user} of project {project}: the database asks \
                     for one, and neither {var} nor {PGPASSWORD_ENV} is set."
                )
            } else {
                format!(
                    "No password given for user {user} of project {project}: the database asks \
                     for one, and none is saved for the project."
                )
            };
            let hint = if env {
                format!(
                    "Set {var} (or {PGPASSWORD_ENV}) to the password in the environment of every \
                     offsite command: with {SECRET_STORE_ENV}=env passwords come from there."
                )
            } else if store.name() != "keychain" && store.name() != "chain" {
                // Given by whoever opened the engine (the agent: its configuration).
                format!("Give the password of project {project} where the others are given.")
            } else {
                format!(
                    "Save it with `offsite project password {project}` (it reads the password \
                     from standard input), or, without a keychain, set {SECRET_STORE_ENV}=env \
                     and {var} (or {PGPASSWORD_ENV})."
                )
            };
            (message, hint)
        }
        PasswordFrom::Given => (
            format!("No password given for user {user}: the database asks for one."),
            format!(
                "Give it with --password-stdin (the first line of standard input), or in \
                 {PGPASSWORD_ENV} in the environment."
            ),
        ),
    };
    Error::new(ErrorKind::Auth, message)
        .with_hint(hint)
        .with_detail(detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::{store_named, MemoryStore};

    #[test]
    fn a_rejected_password_hint_fits_the_store() {
        let rejected = || Error::new(ErrorKind::Auth, "rejected").with_hint(DB_AUTH_HINT);
        let env = with_db_password_hint(rejected(), &EnvStore, "my-shop");
        let hint = env.hint().unwrap();
        assert!(
            hint.contains("OFFSITE_PASSWORD_PROJECT_MY_SHOP_DB_PASSWORD")
                && hint.contains("PGPASSWORD"),
            "{hint}"
        );
        assert!(!hint.contains("project password"), "{hint}");
        let keychain = store_named("keychain").unwrap();
        let e = with_db_password_hint(rejected(), keychain.as_ref(), "my-shop");
        assert!(e
            .hint()
            .unwrap()
            .contains("offsite project password my-shop"));
        let e = with_db_password_hint(rejected(), &MemoryStore::new(), "my-shop");
        assert!(!e.hint().unwrap().contains("offsite"), "{:?}", e.hint());
        // Other errors keep their hints.
        let other = Error::new(ErrorKind::Auth, "s3").with_hint("check the access key");
        let e = with_db_password_hint(other, &EnvStore, "my-shop");
        assert_eq!(e.hint(), Some("check the access key"));
    }
}
