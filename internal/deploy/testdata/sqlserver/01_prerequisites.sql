-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 prerequisites
-- in database master
-- version (2022/16.x or later), edition, login, permissions, the database's existence, spatial types
-- parameters: @p1 = 'Hartonomous'
SELECT @@VERSION,
       CAST(SERVERPROPERTY('Edition') AS NVARCHAR(128)),
       CAST(SERVERPROPERTY('EngineEdition') AS INT),
       SUSER_SNAME(),
       IS_SRVROLEMEMBER('sysadmin'),
       HAS_PERMS_BY_NAME(NULL, NULL, 'CREATE ANY DATABASE'),
       CASE WHEN DB_ID(@p1) IS NULL THEN 0 ELSE 1 END,
       HAS_PERMS_BY_NAME(@p1, 'DATABASE', 'CONTROL'),
       geometry::Point(1, 2, 0).STAsText()
GO
