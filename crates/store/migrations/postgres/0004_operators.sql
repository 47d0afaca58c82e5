-- Operator accounts: people who run the deployment, Manager on every site.
create table operators (
    login text primary key,
    fullname text not null default '',
    email text not null default '',
    password_hash text not null,
    enabled boolean not null default true,
    created timestamptz not null
);
