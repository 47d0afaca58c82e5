-- A site's look (accent colour, logo, footer), as JSON; '' for the default theme.
alter table sites add column theme text not null default '';
