-- PostgreSQL's twin of ../0010_workers_platforms.sql.
ALTER TABLE workers ADD COLUMN platforms TEXT NOT NULL DEFAULT '';
