-- Revisions of versioned items: a snapshot of their values at every save.
create table revisions (
    id bigserial primary key,
    site_id text not null references sites(id) on delete cascade,
    item_uuid uuid not null references items(uuid) on delete cascade,
    version bigint not null,
    actor text not null,
    comment text not null default '',
    at timestamptz not null,
    snapshot jsonb not null,
    unique (item_uuid, version)
);
