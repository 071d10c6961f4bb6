-- The registry: who and what Anxin watches over.
-- depends:

CREATE TYPE site_kind AS ENUM ('care_home', 'home_alone', 'funeral');
CREATE TYPE device_kind AS ENUM ('bracelet', 'smoke', 'heat', 'gas', 'co', 'multi');

CREATE TABLE sites (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid         text NOT NULL UNIQUE CHECK (uid ~ '^[A-Za-z0-9_-]{1,64}$'),
    name        text NOT NULL,
    kind        site_kind NOT NULL,
    region      text NOT NULL DEFAULT '',
    address     text NOT NULL DEFAULT '',
    timezone    text NOT NULL DEFAULT 'Asia/Shanghai',
    created_at  timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN sites.region IS 'district/town/community path, e.g. "Xihu/Lingyin/Maojiawu"';

CREATE TABLE locations (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    parent_id   bigint REFERENCES locations(id) ON DELETE CASCADE,
    name        text NOT NULL,
    kind        text NOT NULL DEFAULT 'room'
        CHECK (kind IN ('building', 'floor', 'room', 'bed', 'kitchen', 'bathroom', 'hall',
                        'cremator_room', 'cold_storage', 'office', 'corridor', 'other')),
    UNIQUE (site_id, name)
);

CREATE TABLE residents (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid         text NOT NULL UNIQUE,
    site_id     bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    location_id bigint REFERENCES locations(id) ON DELETE SET NULL,
    name        text NOT NULL,
    birth_year  int CHECK (birth_year BETWEEN 1900 AND 2100),
    hr_low      smallint NOT NULL DEFAULT 45,
    hr_high     smallint NOT NULL DEFAULT 120,
    spo2_low    smallint NOT NULL DEFAULT 90,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE devices (
    id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uid                 text NOT NULL UNIQUE CHECK (uid ~ '^[A-Za-z0-9_-]{1,64}$'),
    site_id             bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    kind                device_kind NOT NULL,
    location_id         bigint REFERENCES locations(id) ON DELETE SET NULL,
    resident_id         bigint REFERENCES residents(id) ON DELETE SET NULL,
    model               text NOT NULL DEFAULT '',
    heartbeat_interval_s int NOT NULL DEFAULT 60 CHECK (heartbeat_interval_s > 0),
    active              boolean NOT NULL DEFAULT true,
    mqtt_password_hash  text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    CHECK (kind <> 'bracelet' OR location_id IS NULL)
);
COMMENT ON COLUMN devices.mqtt_password_hash IS
    'Mosquitto PBKDF2-SHA512 ($7$) hash of the device credential; the password is shown once';

CREATE TABLE contacts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    resident_id bigint REFERENCES residents(id) ON DELETE CASCADE,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('family', 'community', 'manager')),
    relation    text NOT NULL DEFAULT '',
    tier        text CHECK (tier IN ('community', 'town', 'district')),
    priority    int NOT NULL DEFAULT 1,
    phone       text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    channels    jsonb NOT NULL DEFAULT '[]'::jsonb
);

CREATE TABLE staff (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site_id     bigint NOT NULL REFERENCES sites(id) ON DELETE CASCADE,
    name        text NOT NULL,
    role        text NOT NULL CHECK (role IN ('duty', 'supervisor', 'manager')),
    phone       text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    channels    jsonb NOT NULL DEFAULT '[]'::jsonb,
    active      boolean NOT NULL DEFAULT true
);

CREATE TABLE dead_letter (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    topic       text NOT NULL,
    device_uid  text,
    reason      text NOT NULL,
    detail      text NOT NULL DEFAULT '',
    payload     bytea NOT NULL
);
CREATE INDEX dead_letter_received_at ON dead_letter (received_at);
CREATE INDEX dead_letter_reason ON dead_letter (reason, received_at);
