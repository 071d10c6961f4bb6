-- Access to the API: users (argon2 password hashes) with a role and a scope, API keys for
-- integrations, login attempts for rate limiting, and the notification that wakes live streams.
-- depends: 20261123_05_outbox

CREATE TABLE users (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username         text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    display_name     text NOT NULL DEFAULT '',
    password_hash    text NOT NULL,
    role             text NOT NULL CHECK (role IN ('admin', 'duty', 'family', 'inspector')),
    active           boolean NOT NULL DEFAULT true,
    token_generation int NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN users.token_generation IS
    'carried in every issued token; incrementing it revokes all tokens and sessions of the user';

-- What a user may see: sites (duty staff), residents (family), regions (inspectors: every site
-- whose region is the given path or lies under it, so new sites join the scope by themselves).
CREATE TABLE user_scopes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    site_id     bigint REFERENCES sites(id) ON DELETE CASCADE,
    resident_id bigint REFERENCES residents(id) ON DELETE CASCADE,
    region      text CHECK (region <> ''),
    CHECK (num_nonnulls(site_id, resident_id, region) = 1)
);
CREATE INDEX user_scopes_user ON user_scopes (user_id);

-- An API key acts as its user (role and scope come from there). Only a SHA-256 of the key is
-- kept: keys are 256-bit random strings, so a slow password hash would add nothing.
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         text NOT NULL,
    key_hash     text NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz
);

CREATE TABLE login_attempts (
    id       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username text NOT NULL,
    ip       text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    ok       boolean NOT NULL
);
CREATE INDEX login_attempts_who ON login_attempts (username, ip, at);

-- Live streams sleep until this fires; NOTIFY is sent at commit, so a woken stream finds the row.
CREATE FUNCTION notify_alarm_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('anxin_alarm_events', NEW.id::text);
    RETURN NULL;
END;
$$;
CREATE TRIGGER alarm_events_notify AFTER INSERT ON alarm_events
    FOR EACH ROW EXECUTE FUNCTION notify_alarm_event();
