-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 clr
-- skipped: the SIMD vector math runs in hartd itself, so no CLR assembly is created and no UNSAFE assembly is trusted
