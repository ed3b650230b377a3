-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 filestream
-- skipped: hartd stores no out-of-row blobs: vectors are float32 bytes in the embedding row, so no FILESTREAM filegroup is needed
