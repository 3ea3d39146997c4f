//! A webhook to alert: a receiver on 127.0.0.1 added to a data directory as the notification
//! destination `hook` (`offsite notify add hook --webhook URL`, its URL given through the
//! environment as a secret), and the events it received.

use super::pg::{ok, run_env};
use offsite_testkit::{TestCluster, WebhookReceiver};
use serde_json::Value;
use std::path::Path;

pub struct Hook {
    rx: WebhookReceiver,
    var: String,
    url: String,
}

impl Hook {
    /// A receiver, added to `d` as the destination `hook`.
    pub fn added(d: &Path, pg: &TestCluster) -> Hook {
        let rx = WebhookReceiver::start();
        let url = rx.url("/hook");
        let var = offsite_core::secrets::env_var_for_key("notify:hook:url");
        let hook = Hook { rx, var, url };
        ok(
            run_env(
                d,
                pg,
                &hook.env(),
                &["notify", "add", "hook", "--webhook", &hook.url],
            ),
            "notify add",
        );
        hook
    }

    /// The environment every `offsite` run that may alert needs (the URL, a secret).
    pub fn env(&self) -> [(&str, &str); 1] {
        [(self.var.as_str(), self.url.as_str())]
    }

    /// The events named `event` received so far, oldest first.
    pub fn events(&self, event: &str) -> Vec<Value> {
        self.rx
            .requests()
            .iter()
            .map(|r| serde_json::from_slice::<Value>(&r.body).unwrap())
            .filter(|e| e["event"] == event)
            .collect()
    }
}
