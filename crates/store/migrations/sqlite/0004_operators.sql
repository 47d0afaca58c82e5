-- Operator accounts: people who run the deployment, Manager on every site.
create table operators (
    login text primary key,
    fullname text not null default '',
    email text not null default '',
    password_hash text not null,
    enabled integer not null default 1,
    created text not null
);
