-- Identity and access: local roles and inheritance blocking on items, the stored
-- "who may View" tokens used to filter listings in SQL, groups, and settings.
alter table items add column local_roles jsonb not null default '{}';
alter table items add column block_inheritance boolean not null default false;

create table item_viewers (
    item_uuid uuid not null references items(uuid) on delete cascade,
    token text not null,
    primary key (item_uuid, token)
);
-- Every existing item is public so far.
insert into item_viewers (item_uuid, token) select uuid, 'role:Anonymous' from items;

create table groups (
    site_id text not null references sites(id) on delete cascade,
    id text not null,
    title text not null default '',
    description text not null default '',
    created timestamptz not null,
    primary key (site_id, id)
);

create table group_members (
    site_id text not null,
    group_id text not null,
    login text not null,
    primary key (site_id, group_id, login),
    foreign key (site_id, group_id) references groups(site_id, id) on delete cascade,
    foreign key (site_id, login) references users(site_id, login) on delete cascade
);
create index group_members_login on group_members(site_id, login);

create table group_roles (
    site_id text not null,
    group_id text not null,
    role text not null,
    primary key (site_id, group_id, role),
    foreign key (site_id, group_id) references groups(site_id, id) on delete cascade
);

create table revoked_tokens (
    jti text primary key,
    expires timestamptz not null
);

create table settings (
    key text primary key,
    value text not null
);
