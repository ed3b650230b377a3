-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 filestream
-- not applicable: SQLite has no FILESTREAM; hartd stores no out-of-row blobs: vectors are float32 bytes in the embedding row, so no FILESTREAM filegroup is needed
