-- Numbers handed out per site and name (a request's number, an agenda's item
-- numbers): each taken once, whatever the servers and transactions.
create table counters (
    site_id text not null references sites(id) on delete cascade,
    name text not null,
    value integer not null,
    primary key (site_id, name)
);
