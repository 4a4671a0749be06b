-- Fencing tokens of the ingest partitions (issue 12, INGEST_PARTITIONS): the latest token each
-- partition's lease was acquired with. A new owner raises it before reading the partition
-- (never lowers it); every group commit of a message read from the partition checks, under a
-- share lock on the row, that its reader's token is not older, so a paused former owner can
-- never commit after the partition moved on (actors/src/store/postgres/fence.rs).
CREATE TABLE IF NOT EXISTS ingest_partition_fences (
    partition integer PRIMARY KEY,
    token     bigint  NOT NULL
);
