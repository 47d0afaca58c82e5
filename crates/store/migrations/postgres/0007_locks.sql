-- Edit locks (plone.locking): one per item, with its owner, token and lifetime.
create table locks (
    item_uuid uuid primary key references items(uuid) on delete cascade,
    creator text not null,
    token text not null,
    created timestamptz not null,
    timeout_secs bigint not null,
    stealable boolean not null
);
