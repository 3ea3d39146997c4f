//! Desktop shell (filled in by the desktop issue).
