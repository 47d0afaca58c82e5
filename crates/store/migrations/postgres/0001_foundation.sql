-- Sites (communes), their host names, the content tree, redirects left by moves, users.
-- Paths use the "C" collation so that byte order holds and range scans find subtrees.
create table sites (
    id text primary key,
    title text not null,
    language text not null,
    created timestamptz not null,
    modified timestamptz not null
);

create table site_hosts (
    host text primary key,
    site_id text not null references sites(id) on delete cascade
);
create index site_hosts_site on site_hosts(site_id);

create table items (
    uuid uuid primary key,
    site_id text not null references sites(id) on delete cascade,
    parent uuid references items(uuid),
    id text collate "C" not null,
    path text collate "C" not null,
    type_name text not null,
    title text not null,
    description text not null default '',
    language text not null,
    fields jsonb not null default '{}',
    review_state text,
    exclude_from_nav boolean not null default false,
    creator text not null,
    created timestamptz not null,
    modified timestamptz not null,
    effective timestamptz,
    expires timestamptz,
    position bigint not null default 0,
    unique (site_id, path)
);
create index items_children on items(site_id, parent, position);

create table redirects (
    site_id text not null references sites(id) on delete cascade,
    old_path text collate "C" not null,
    item_uuid uuid not null references items(uuid) on delete cascade,
    created timestamptz not null,
    primary key (site_id, old_path)
);
create index redirects_item on redirects(item_uuid);

create table users (
    site_id text not null references sites(id) on delete cascade,
    login text not null,
    fullname text not null default '',
    email text not null default '',
    password_hash text not null,
    enabled boolean not null default true,
    created timestamptz not null,
    primary key (site_id, login)
);

create table user_roles (
    site_id text not null,
    login text not null,
    role text not null,
    primary key (site_id, login, role),
    foreign key (site_id, login) references users(site_id, login) on delete cascade
);
