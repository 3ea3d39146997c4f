//! The engine's notification calls (issue 27): channels, routes, the outbox and its delivery.
//! Each hands over to `ops::notify`; kept apart from `mod.rs` so the facade stays readable.

use super::*;

impl Engine {
    /// Add a notification channel (its secrets go to the keychain, never the catalog).
    pub async fn notify_add(
        &self,
        name: &str,
        input: ops::notify::ChannelInput,
    ) -> Result<crate::catalog::ChannelRecord> {
        ops::notify::add(self, name, input, None).await
    }
    /// [`Engine::notify_add`] with the channel's own rate limit, messages a minute (`None`: its
    /// kind's default; 1 to [`crate::ops::notify::outbox::MAX_RATE_PER_MINUTE`]).
    pub async fn notify_add_rated(
        &self,
        name: &str,
        input: ops::notify::ChannelInput,
        rate_per_minute: Option<u32>,
    ) -> Result<crate::catalog::ChannelRecord> {
        ops::notify::add(self, name, input, rate_per_minute).await
    }
    /// Every notification channel, with every route.
    pub async fn notify_list(
        &self,
    ) -> Result<(
        Vec<crate::catalog::ChannelRecord>,
        Vec<crate::catalog::RouteRecord>,
    )> {
        Ok((
            self.catalog.channels().await?,
            self.catalog.routes(None).await?,
        ))
    }
    /// Remove a channel with its routes, queued messages and secrets.
    pub async fn notify_remove(&self, name: &str) -> Result<()> {
        ops::notify::remove(self, name).await
    }
    /// Send a test message to a channel now; returns its event id.
    pub async fn notify_test(&self, name: &str) -> Result<String> {
        ops::notify::test(self, name).await
    }
    /// The outbox, newest first (of one project, or all).
    pub async fn notify_log(
        &self,
        project: Option<&str>,
        limit: u32,
    ) -> Result<Vec<crate::catalog::OutboxRow>> {
        ops::notify::log(self, project, limit).await
    }
    /// Route a project's events (`failed,overdue`…) to channels.
    pub async fn notify_route(
        &self,
        project: &str,
        events: &str,
        channels: &[String],
    ) -> Result<Vec<crate::catalog::RouteRecord>> {
        ops::notify::route(self, project, events, channels).await
    }
    /// [`Engine::notify_route`] with the groups as a list (the app's checkboxes): an empty list is
    /// `none` (the channels hear nothing from the project).
    pub async fn notify_route_list(
        &self,
        project: &str,
        events: &[String],
        channels: &[String],
    ) -> Result<Vec<crate::catalog::RouteRecord>> {
        ops::notify::route_list(self, project, events, channels).await
    }
    /// Queue an event for the channels that want it (a project's routes, or the default), for
    /// the slices that make events of their own (retention, space, copies, the agent).
    pub async fn notify_enqueue(
        &self,
        event: &crate::notify::Event,
        project: Option<&str>,
    ) -> Result<usize> {
        let id = match project {
            Some(name) => Some(self.catalog.project(name).await?.id),
            None => None,
        };
        self.catalog.enqueue_event(event, id.as_deref(), None).await
    }
    /// Deliver the notifications that are due now.
    pub async fn notify_deliver(&self) -> Result<crate::ops::notify::deliver::DeliveryReport> {
        crate::ops::notify::deliver::deliver_due(self).await
    }
    /// Record overdue transitions (each queues its event once), then deliver what is due: what
    /// `run-due` and every check of the due loop do.
    pub async fn notify_check(&self) -> Result<crate::ops::notify::deliver::DeliveryReport> {
        ops::notify::check(self).await
    }
}
