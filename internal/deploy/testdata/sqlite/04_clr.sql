-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 clr
-- not applicable: SQLite has no CLR; the SIMD vector math runs in hartd itself, so no CLR assembly is created and no UNSAFE assembly is trusted
