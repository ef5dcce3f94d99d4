-- Hourly rollups the endpoints read, filled by materialized views as events are inserted. Hourly
-- rather than daily so that days, weeks and months can be cut in any whole-hour time zone at query
-- time. Queries always sum() again: parts merge in the background, so rows of one key may not be
-- collapsed yet.

CREATE TABLE IF NOT EXISTS {{database}}.event_counts_hourly
(
    tenant LowCardinality(String),
    hour DateTime('UTC'),
    type LowCardinality(String),
    events UInt64
)
ENGINE = SummingMergeTree
ORDER BY (tenant, type, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.event_counts_hourly_mv TO {{database}}.event_counts_hourly AS
SELECT tenant, toStartOfHour(occurred_at) AS hour, type, count() AS events
FROM {{database}}.events
GROUP BY tenant, hour, type;

CREATE TABLE IF NOT EXISTS {{database}}.user_activity_hourly
(
    tenant LowCardinality(String),
    hour DateTime('UTC'),
    user_id String,
    events UInt64,
    messages UInt64,
    tokens UInt64,
    cost_micro_usd UInt64
)
ENGINE = SummingMergeTree
ORDER BY (tenant, hour, user_id);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.user_activity_hourly_mv TO {{database}}.user_activity_hourly AS
SELECT
    tenant,
    toStartOfHour(occurred_at) AS hour,
    user_id,
    count() AS events,
    countIf(type = 'chat.message_completed') AS messages,
    sum(input_tokens + output_tokens) AS tokens,
    sum(cost_micro_usd) AS cost_micro_usd
FROM {{database}}.events
WHERE user_id != ''
GROUP BY tenant, hour, user_id;

CREATE TABLE IF NOT EXISTS {{database}}.chat_hourly
(
    tenant LowCardinality(String),
    hour DateTime('UTC'),
    provider LowCardinality(String),
    model LowCardinality(String),
    messages SimpleAggregateFunction(sum, UInt64),
    failed SimpleAggregateFunction(sum, UInt64),
    input_tokens SimpleAggregateFunction(sum, UInt64),
    output_tokens SimpleAggregateFunction(sum, UInt64),
    cost_micro_usd SimpleAggregateFunction(sum, UInt64),
    ttft_ms_sum SimpleAggregateFunction(sum, UInt64),
    ttft_count SimpleAggregateFunction(sum, UInt64),
    duration_quantiles AggregateFunction(quantiles(0.5, 0.95, 0.99), UInt32)
)
ENGINE = AggregatingMergeTree
ORDER BY (tenant, hour, provider, model);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.chat_hourly_mv TO {{database}}.chat_hourly AS
SELECT
    tenant,
    toStartOfHour(occurred_at) AS hour,
    provider,
    model,
    toUInt64(count()) AS messages,
    toUInt64(countIf(status != 'completed')) AS failed,
    sum(input_tokens) AS input_tokens,
    sum(output_tokens) AS output_tokens,
    sum(cost_micro_usd) AS cost_micro_usd,
    toUInt64(sum(ifNull(ttft_ms, 0))) AS ttft_ms_sum,
    toUInt64(countIf(ttft_ms IS NOT NULL)) AS ttft_count,
    quantilesState(0.5, 0.95, 0.99)(duration_ms) AS duration_quantiles
FROM {{database}}.events
WHERE type = 'chat.message_completed'
GROUP BY tenant, hour, provider, model;

CREATE TABLE IF NOT EXISTS {{database}}.revenue_hourly
(
    tenant LowCardinality(String),
    hour DateTime('UTC'),
    currency LowCardinality(String),
    payments UInt64,
    amount_minor UInt64
)
ENGINE = SummingMergeTree
ORDER BY (tenant, currency, hour);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.revenue_hourly_mv TO {{database}}.revenue_hourly AS
SELECT tenant, toStartOfHour(occurred_at) AS hour, currency, count() AS payments, sum(amount_minor) AS amount_minor
FROM {{database}}.events
WHERE type = 'billing.payment_succeeded'
GROUP BY tenant, hour, currency;
