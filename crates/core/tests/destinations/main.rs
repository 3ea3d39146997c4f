//! The remote destinations against real servers on 127.0.0.1: `S3Destination` on moto (bare,
//! behind `Faulty` + `Retrying`, and behind testkit's HTTP fault proxy), `RcloneDestination`
//! driving the installed rclone (a `local` remote, and rclone's `s3` backend on moto), and
//! `check` ("Test destination") for every kind.

mod check;
mod common;
#[cfg(unix)] // a fake rclone as a shell script (docs/development.md)
mod rclone;
mod s3;
mod s3_faults;
