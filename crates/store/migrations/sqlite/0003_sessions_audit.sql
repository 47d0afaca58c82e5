-- Browser sessions (the id is stored hashed), login throttling, and the audit log.
create table sessions (
    id_hash text primary key,
    site_id text not null references sites(id) on delete cascade,
    login text not null,
    csrf text not null,
    created text not null,
    expires text not null
);
create index sessions_expires on sessions(expires);

create table login_failures (
    key text primary key,
    failures integer not null,
    first_failure text not null,
    blocked_until text
);

create table audit_log (
    id integer primary key autoincrement,
    site_id text not null,
    at text not null,
    actor text not null,
    action text not null,
    target text not null default '',
    client text not null default '',
    detail text not null default '{}'
);
create index audit_log_site_at on audit_log(site_id, at);
