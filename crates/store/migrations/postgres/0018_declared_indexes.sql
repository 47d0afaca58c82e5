-- The catalog indexes applications declare, in one table whatever the index: a
-- keyword or boolean as `word`, a number as `num`, a date as `at`. A new index needs
-- no migration.
create table item_index (
    item_uuid uuid not null references items(uuid) on delete cascade,
    site_id text not null,
    idx text not null,
    word text,
    num double precision,
    at timestamptz
);
create index item_index_item on item_index(item_uuid);
create index item_index_word on item_index(site_id, idx, word);
create index item_index_num on item_index(site_id, idx, num);
create index item_index_at on item_index(site_id, idx, at);
