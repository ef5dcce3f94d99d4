-- Every tenant's events, one row per event id. The tenant leads the sorting key so a tenant's query
-- reads only its own granules; type and time follow, which is how every endpoint filters.
-- ReplacingMergeTree on (…, id) is the second line of deduplication: the ingester never inserts an id
-- that is already stored (the rollups below would count it twice), and a copy that slipped through a
-- race still collapses here when parts merge.
CREATE TABLE IF NOT EXISTS {{database}}.events
(
    tenant LowCardinality(String),
    occurred_at DateTime64(3, 'UTC'),
    type LowCardinality(String),
    id UUID,
    version UInt16,
    aggregate_id String,
    -- payload.userId where the event has one ('' otherwise): what "active user" counts.
    user_id String,
    provider LowCardinality(String),
    model LowCardinality(String),
    status LowCardinality(String),
    input_tokens UInt64,
    output_tokens UInt64,
    cost_micro_usd UInt64,
    duration_ms UInt32,
    ttft_ms Nullable(UInt32),
    amount_minor UInt64,
    currency LowCardinality(String),
    plan String,
    previous_plan String,
    period_start DateTime64(3, 'UTC'),
    period_end DateTime64(3, 'UTC'),
    -- The payload as published, for questions no column answers yet.
    payload String,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX event_id_bloom id TYPE bloom_filter GRANULARITY 4
)
ENGINE = ReplacingMergeTree
PARTITION BY toYYYYMM(occurred_at)
ORDER BY (tenant, type, occurred_at, id);

-- Messages the ingester could not take (not JSON, an invalid envelope, an envelope naming another
-- tenant than its topic's, a payload that breaks its type's contract), with why. One row per Kafka
-- offset, so a redelivery does not record a rejection twice once parts merge.
CREATE TABLE IF NOT EXISTS {{database}}.rejected_events
(
    tenant LowCardinality(String),
    topic String,
    partition UInt32,
    offset UInt64,
    rejected_at DateTime64(3, 'UTC') DEFAULT now64(3),
    event_id String,
    type String,
    reason String,
    raw String
)
ENGINE = ReplacingMergeTree
ORDER BY (tenant, topic, partition, offset);
