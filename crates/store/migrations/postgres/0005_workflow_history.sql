-- Every workflow step of an item: who, when, from which state to which, and why.
create table workflow_history (
    id bigserial primary key,
    site_id text not null references sites(id) on delete cascade,
    item_uuid uuid not null references items(uuid) on delete cascade,
    action text,
    actor text not null,
    comments text not null default '',
    from_state text,
    review_state text not null,
    at timestamptz not null
);
create index workflow_history_item on workflow_history(item_uuid, id);
