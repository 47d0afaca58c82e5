-- Browser sessions (the id is stored hashed), login throttling, and the audit log.
create table sessions (
    id_hash text primary key,
    site_id text not null references sites(id) on delete cascade,
    login text not null,
    csrf text not null,
    created timestamptz not null,
    expires timestamptz not null
);
create index sessions_expires on sessions(expires);

create table login_failures (
    key text primary key,
    failures bigint not null,
    first_failure timestamptz not null,
    blocked_until timestamptz
);

create table audit_log (
    id bigserial primary key,
    site_id text not null,
    at timestamptz not null,
    actor text not null,
    action text not null,
    target text not null default '',
    client text not null default '',
    detail jsonb not null default '{}'
);
create index audit_log_site_at on audit_log(site_id, at);
