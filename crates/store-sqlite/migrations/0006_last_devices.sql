-- The device that last logged in to an account, per kick group (the
-- group's client types as a bit mask): an auto login from any other
-- device of the group is refused (417) unless forced.
CREATE TABLE IF NOT EXISTS last_devices (
    app_key    TEXT NOT NULL,
    accid      TEXT NOT NULL,
    kick_group INTEGER NOT NULL,
    device_id  TEXT NOT NULL,
    PRIMARY KEY (app_key, accid, kick_group)
) WITHOUT ROWID;
