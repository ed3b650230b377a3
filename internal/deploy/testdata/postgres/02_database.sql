-- hartd deploy --dry-run: postgres://hartd:xxxxx@127.0.0.1:5432/hartd?sslmode=disable
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 database
-- in database postgres
-- parameters: $1 = 'hartd'
SELECT COUNT(*) FROM pg_catalog.pg_database WHERE datname = $1;
-- when it does not exist; alone, outside any transaction (CREATE DATABASE cannot run in one)
CREATE DATABASE "hartd" ENCODING 'UTF8' TEMPLATE template0;
