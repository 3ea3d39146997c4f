-- Offsite catalog, version 16: notifications in the change feed, and a rate limit per channel
-- (issue 27).
--
-- The change feed learns notifications, as one entity `notify` whose `entity_id` is the
-- channel's name (`project_id`: the route's or the event's project, NULL for a channel): a
-- channel added or removed (by the command line in another process, say), a route set or
-- removed, an event queued in the outbox, and a delivery whose state a person sees changing
-- (sent, queued again after a failed attempt, failed for good, collapsed into a digest). So an
-- open Settings → Notifications refreshes its channels and its delivery log by itself.
--
-- Cheap by construction: one row per outbox state change, none per poll. Claiming a row
-- (`queued` → `sending`, or a lease taken over) writes nothing, and neither does a row handed
-- back unsent by a rate limit or a storm (`sending` → `queued` with its attempt uncounted:
-- `attempts` goes down); a row removed with its channel is named by the channel's own row.
--
-- notify_channels.rate_per_minute: the channel's own limit (messages a minute); NULL, as every
-- row written before this version, is the kind's default (`notify::outbox::rate_per_minute`).

ALTER TABLE notify_channels ADD COLUMN rate_per_minute INTEGER
    CHECK (rate_per_minute IS NULL OR rate_per_minute > 0);

CREATE TRIGGER notify_channels_insert_change AFTER INSERT ON notify_channels BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', NEW.name, NULL, 'upsert');
END;
CREATE TRIGGER notify_channels_update_change AFTER UPDATE ON notify_channels BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', NEW.name, NULL, 'upsert');
END;
CREATE TRIGGER notify_channels_delete_change AFTER DELETE ON notify_channels BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', OLD.name, NULL, 'delete');
END;

CREATE TRIGGER notify_routes_insert_change AFTER INSERT ON notify_routes BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', NEW.channel, NEW.project_id, 'upsert');
END;
CREATE TRIGGER notify_routes_update_change AFTER UPDATE ON notify_routes BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', NEW.channel, NEW.project_id, 'upsert');
END;
CREATE TRIGGER notify_routes_delete_change AFTER DELETE ON notify_routes BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', OLD.channel, OLD.project_id, 'delete');
END;

CREATE TRIGGER notify_outbox_insert_change AFTER INSERT ON notify_outbox BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', NEW.channel, NEW.project_id, 'upsert');
END;
CREATE TRIGGER notify_outbox_state_change AFTER UPDATE OF state ON notify_outbox
WHEN NEW.state IS NOT OLD.state AND NEW.state <> 'sending' AND NEW.attempts >= OLD.attempts BEGIN
    INSERT INTO changes (entity, entity_id, project_id, op) VALUES ('notify', NEW.channel, NEW.project_id, 'upsert');
END;
