-- A site's own workflow definitions and chain entries, as the JSON files they came from.
create table site_workflows (
    site_id text not null references sites(id) on delete cascade,
    name text not null,
    json text not null,
    primary key (site_id, name)
);
