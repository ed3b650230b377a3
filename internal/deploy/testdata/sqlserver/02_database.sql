-- hartd deploy --dry-run: sqlserver://sa:xxxxx@127.0.0.1:1433?database=Hartonomous
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 database
-- in database master
-- parameters: @p1 = 'Hartonomous'
SELECT compatibility_level, is_read_committed_snapshot_on, snapshot_isolation_state_desc, is_query_store_on
FROM sys.databases WHERE name = @p1
GO
-- each batch alone, outside any transaction, guarded by the setting it changes
IF DB_ID(N'Hartonomous') IS NULL
    CREATE DATABASE [Hartonomous]
GO
IF (SELECT compatibility_level FROM sys.databases WHERE name = N'Hartonomous') <> 160
    ALTER DATABASE [Hartonomous] SET COMPATIBILITY_LEVEL = 160
GO
IF (SELECT is_read_committed_snapshot_on FROM sys.databases WHERE name = N'Hartonomous') = 0
    ALTER DATABASE [Hartonomous] SET READ_COMMITTED_SNAPSHOT ON WITH NO_WAIT
GO
IF (SELECT snapshot_isolation_state FROM sys.databases WHERE name = N'Hartonomous') IN (0, 2)
    ALTER DATABASE [Hartonomous] SET ALLOW_SNAPSHOT_ISOLATION ON
GO
IF (SELECT is_query_store_on FROM sys.databases WHERE name = N'Hartonomous') = 0
    ALTER DATABASE [Hartonomous] SET QUERY_STORE = ON (OPERATION_MODE = READ_WRITE)
GO
