-- The migrations each application has applied, by application and version.
create table app_migrations (
    app text not null,
    version bigint not null,
    description text not null,
    applied_at timestamptz not null,
    primary key (app, version)
);
