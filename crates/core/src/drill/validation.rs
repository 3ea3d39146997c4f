//! One validation query of a project, as the catalog stores it (`validation_checks`) and every
//! restore drill runs it on its restored copy.

use serde::{Deserialize, Serialize};

/// One validation query of a project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, sqlx::FromRow)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ValidationCheck {
    pub id: String,
    pub project_id: String,
    /// What a report calls it (`None`: the SQL itself).
    pub title: Option<String>,
    pub sql: String,
    /// The expectation's canonical text (`>= 1000`, `within 26h`; see `drill::expect`).
    pub expect: String,
    pub created_at: String,
}

impl ValidationCheck {
    /// What a report calls it: the title, or the SQL on one line (shortened).
    pub fn display_title(&self) -> String {
        match self.title.as_deref().filter(|t| !t.trim().is_empty()) {
            Some(t) => t.trim().to_string(),
            None => {
                let one_line = self.sql.split_whitespace().collect::<Vec<_>>().join(" ");
                let mut s: String = one_line.chars().take(80).collect();
                if one_line.chars().count() > 80 {
                    s.push('…');
                }
                format!("Query: {s}")
            }
        }
    }
}
