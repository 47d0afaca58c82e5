-- Revisions of versioned items: a snapshot of their values at every save.
create table revisions (
    id integer primary key autoincrement,
    site_id text not null references sites(id) on delete cascade,
    item_uuid blob not null references items(uuid) on delete cascade,
    version integer not null,
    actor text not null,
    comment text not null default '',
    at text not null,
    snapshot text not null,
    unique (item_uuid, version)
);
