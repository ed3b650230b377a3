-- hartd deploy --dry-run: postgres://hartd:xxxxx@127.0.0.1:5432/hartd?sslmode=disable
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 prerequisites
-- in database postgres
-- version (13 or later), role, the database's existence, PostGIS on the server
-- parameters: $1 = 'hartd'
SELECT version(), current_setting('server_version_num')::integer, current_user,
       r.rolsuper, r.rolcreatedb,
       EXISTS (SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1),
       (SELECT default_version FROM pg_catalog.pg_available_extensions WHERE name = 'postgis')
FROM pg_catalog.pg_roles AS r WHERE r.rolname = current_user;
-- in database hartd
-- when the database exists: PostGIS in it, and whether the role owns it
SELECT (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'postgis'),
       pg_catalog.pg_get_userbyid(d.datdba) = current_user OR r.rolsuper
FROM pg_catalog.pg_database AS d, pg_catalog.pg_roles AS r
WHERE d.datname = current_database() AND r.rolname = current_user;
