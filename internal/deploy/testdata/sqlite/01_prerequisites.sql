-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 prerequisites
-- in database :memory:
-- the SQLite version, its R*Tree and JSON functions
SELECT sqlite_version();
CREATE VIRTUAL TABLE temp.hartd_rtree_probe USING rtree (id, min_x, max_x);
SELECT json_type('{"a":1}');
-- and the database file's directory must exist and be writable, or be creatable
