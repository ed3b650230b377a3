-- hartd deploy --dry-run: sqlite:///var/lib/hartd/hartd.db
-- Nothing was sent. These are the statements the phases send to a server
-- that has nothing of hartd yet, in order; a phase reads the server's state
-- first and sends only what differs (each step says when it is sent).

-- ==== 1/1 service-broker
-- in-process: the OODA loop runs inside hartd (analyze, hypothesize, act, learn over its own measurements): no queues, contracts or activation procedures in the database
