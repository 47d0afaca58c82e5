-- Edit locks (plone.locking): one per item, with its owner, token and lifetime.
create table locks (
    item_uuid blob primary key references items(uuid) on delete cascade,
    creator text not null,
    token text not null,
    created text not null,
    timeout_secs integer not null,
    stealable integer not null
);
