//! Waking from sleep: logind announces `PrepareForSleep(false)` on the system bus when the machine
//! resumes; the scheduler then checks at once instead of within its minute (tokio's timers do not
//! count the time asleep). Where there is no system bus or no logind, nothing is heard and the
//! minute remains the bound.

use futures_util::StreamExt;

/// logind's manager: where the signal comes from.
pub const LOGIND_PATH: &str = "/org/freedesktop/login1";
pub const LOGIND_INTERFACE: &str = "org.freedesktop.login1.Manager";
pub const SIGNAL: &str = "PrepareForSleep";

/// Call `on_resume` each time the machine resumes, as heard on the bus at `address` (`None`:
/// the system bus). Returns when the bus cannot be reached or closes.
pub async fn watch(
    address: Option<&str>,
    on_resume: impl Fn() + Send + 'static,
) -> zbus::Result<()> {
    let conn = match address {
        Some(a) => zbus::connection::Builder::address(a).build().await?,
        None => zbus::Connection::system().await?,
    };
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .path(LOGIND_PATH)
        .interface(LOGIND_INTERFACE)
        .member(SIGNAL)
        .build()?;
    let mut stream =
        zbus::MessageStream::for_match_rule(rule, &conn, std::num::NonZeroUsize::new(16)).await?;
    while let Some(msg) = stream.next().await {
        let Ok(msg) = msg else { continue };
        // `true`: going to sleep; `false`: awake again.
        if let Ok(false) = msg.body().deserialize::<bool>() {
            on_resume();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::{Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::Duration;

    /// A private bus standing in for the system bus, and a process on it saying what logind says.
    #[tokio::test(flavor = "multi_thread")]
    async fn a_resume_announced_on_the_bus_is_heard_and_going_to_sleep_is_not() {
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("dbus-daemon (Debian package dbus) must be installed");
        let address = {
            use std::io::BufRead;
            let mut line = String::new();
            std::io::BufReader::new(daemon.stdout.take().unwrap())
                .read_line(&mut line)
                .unwrap();
            line.trim().to_string()
        };
        let heard = Arc::new(AtomicUsize::new(0));
        let watcher = {
            let (heard, address) = (heard.clone(), address.clone());
            tokio::spawn(async move {
                watch(Some(&address), move || {
                    heard.fetch_add(1, Ordering::SeqCst);
                })
                .await
            })
        };
        let logind = zbus::connection::Builder::address(address.as_str())
            .build()
            .await
            .unwrap();
        // The watcher subscribes asynchronously: announce until heard (bounded).
        let mut heard_at = None;
        for i in 0..100 {
            logind
                .emit_signal(None::<()>, LOGIND_PATH, LOGIND_INTERFACE, SIGNAL, &(true,))
                .await
                .unwrap();
            logind
                .emit_signal(None::<()>, LOGIND_PATH, LOGIND_INTERFACE, SIGNAL, &(false,))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(50)).await;
            if heard.load(Ordering::SeqCst) > 0 {
                heard_at = Some(i);
                break;
            }
        }
        heard_at.expect("the resume was heard");
        // Subscribed now: going to sleep is not a resume; waking is, once each.
        tokio::time::sleep(Duration::from_millis(200)).await;
        heard.store(0, Ordering::SeqCst);
        for _ in 0..3 {
            logind
                .emit_signal(None::<()>, LOGIND_PATH, LOGIND_INTERFACE, SIGNAL, &(true,))
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            heard.load(Ordering::SeqCst),
            0,
            "going to sleep is not a resume"
        );
        logind
            .emit_signal(None::<()>, LOGIND_PATH, LOGIND_INTERFACE, SIGNAL, &(false,))
            .await
            .unwrap();
        for _ in 0..100 {
            if heard.load(Ordering::SeqCst) == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(heard.load(Ordering::SeqCst), 1, "one resume, heard once");
        watcher.abort();
        let _ = daemon.kill();
        let _ = daemon.wait();
    }
}
