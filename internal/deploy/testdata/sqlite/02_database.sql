-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 database
-- in database /var/lib/hartd/hartd.db
-- when the file does not exist: create its directory and the file, with 16 KiB pages
PRAGMA page_size = 16384;
PRAGMA journal_mode;
-- when the journal mode is not WAL
PRAGMA journal_mode = WAL;
