-- Each site's time zone: forms read date-times in it, pages show them in it.
alter table sites add column time_zone text not null default 'Europe/Brussels';
