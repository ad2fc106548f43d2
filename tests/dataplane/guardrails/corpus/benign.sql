-- Benign work that must pass untouched: pgbench's own statements, an application's OLTP
-- traffic, an analyst's queries and what drivers and psql send on their own.

-- case: pgbench-scale-probe | policy: standard | expect: allow
select count(*) from pgbench_branches
-- case: pgbench-select-only | policy: read-only | expect: allow
SELECT abalance FROM pgbench_accounts WHERE aid = 48291;
-- case: pgbench-select-only-prepared | policy: read-only | expect: allow
SELECT abalance FROM pgbench_accounts WHERE aid = $1;
-- case: pgbench-tpcb-begin | policy: standard | expect: allow
BEGIN;
-- case: pgbench-tpcb-update-accounts | policy: standard | expect: allow
UPDATE pgbench_accounts SET abalance = abalance + -4321 WHERE aid = 48291;
-- case: pgbench-tpcb-select | policy: standard | expect: allow
SELECT abalance FROM pgbench_accounts WHERE aid = 48291;
-- case: pgbench-tpcb-update-tellers | policy: standard | expect: allow
UPDATE pgbench_tellers SET tbalance = tbalance + -4321 WHERE tid = 7;
-- case: pgbench-tpcb-update-branches | policy: standard | expect: allow
UPDATE pgbench_branches SET bbalance = bbalance + -4321 WHERE bid = 1;
-- case: pgbench-tpcb-insert-history | policy: standard | expect: allow
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (7, 1, 48291, -4321, CURRENT_TIMESTAMP);
-- case: pgbench-tpcb-end | policy: standard | expect: allow
END;
-- case: pgbench-tpcb-prepared-update | policy: standard | expect: allow
UPDATE pgbench_accounts SET abalance = abalance + $1 WHERE aid = $2;
-- case: app-insert-returning | policy: standard | expect: allow
INSERT INTO orders (customer_id, total, created_at) VALUES ($1, $2, now()) RETURNING id
-- case: app-upsert | policy: standard | expect: allow
INSERT INTO carts (customer_id, item_id, qty) VALUES (17, 4, 1)
ON CONFLICT (customer_id, item_id) DO UPDATE SET qty = carts.qty + EXCLUDED.qty
-- case: app-update-by-id | policy: standard | expect: allow
UPDATE orders SET status = 'shipped', shipped_at = now() WHERE id = 9913 AND status = 'paid'
-- case: app-delete-expired-sessions | policy: standard | expect: allow
DELETE FROM user_sessions WHERE expires_at < now() - interval '1 day'
-- case: app-delete-using-with-where | policy: standard | expect: allow
DELETE FROM cart_items ci USING carts c WHERE ci.cart_id = c.id AND c.abandoned_at < now() - interval '30 days'
-- case: app-job-queue-claim | policy: standard | expect: allow
UPDATE jobs SET state = 'running', started_at = now()
WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY priority DESC, id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING id, payload
-- case: app-page | policy: read-only | expect: allow
SELECT id, name, email FROM customers WHERE name ILIKE '%smith%' ORDER BY name LIMIT 50 OFFSET 100
-- case: app-savepoints | policy: standard | expect: allow
BEGIN; SAVEPOINT before_items; INSERT INTO order_items (order_id, sku, qty) VALUES (1, 'A-1', 2); ROLLBACK TO SAVEPOINT before_items; RELEASE SAVEPOINT before_items; COMMIT;
-- case: app-isolation | policy: read-only | expect: allow
BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT count(*) FROM orders; COMMIT
-- case: app-rollback | policy: read-only | expect: allow
ROLLBACK
-- case: analytics-join-aggregate | policy: read-only | expect: allow
SELECT c.country, count(*) AS orders, sum(o.total) AS revenue
FROM orders o JOIN customers c ON c.id = o.customer_id
WHERE o.created_at >= date_trunc('month', now()) - interval '3 months'
GROUP BY c.country HAVING sum(o.total) > 1000 ORDER BY revenue DESC
-- case: analytics-cte-window | policy: read-only | expect: allow
WITH monthly AS (
  SELECT customer_id, date_trunc('month', created_at) AS month, sum(total) AS spent
  FROM orders GROUP BY 1, 2
)
SELECT customer_id, month, spent,
       sum(spent) OVER (PARTITION BY customer_id ORDER BY month) AS running,
       rank() OVER (PARTITION BY month ORDER BY spent DESC) AS rank_in_month,
       lag(spent) OVER w AS previous
FROM monthly WINDOW w AS (PARTITION BY customer_id ORDER BY month)
-- case: analytics-recursive-cte | policy: read-only | expect: allow
WITH RECURSIVE tree AS (
  SELECT id, parent_id, name, 1 AS depth FROM categories WHERE parent_id IS NULL
  UNION ALL
  SELECT c.id, c.parent_id, c.name, t.depth + 1 FROM categories c JOIN tree t ON c.parent_id = t.id
)
SELECT * FROM tree ORDER BY depth, name
-- case: analytics-grouping-sets-filter | policy: read-only | expect: allow
SELECT region, product, sum(amount) FILTER (WHERE refunded IS FALSE) AS net, count(DISTINCT customer_id)
FROM sales GROUP BY GROUPING SETS ((region, product), (region), ())
-- case: analytics-percentiles | policy: read-only | expect: allow
SELECT percentile_cont(ARRAY[0.5, 0.9, 0.99]) WITHIN GROUP (ORDER BY duration_ms) FROM requests WHERE day = current_date
-- case: analytics-distinct-on-lateral | policy: read-only | expect: allow
SELECT DISTINCT ON (c.id) c.id, last.created_at
FROM customers c CROSS JOIN LATERAL (
  SELECT created_at FROM orders o WHERE o.customer_id = c.id ORDER BY created_at DESC LIMIT 1
) last ORDER BY c.id, last.created_at DESC
-- case: analytics-generate-series-left-join | policy: read-only | expect: allow
SELECT d::date AS day, coalesce(count(o.id), 0)
FROM generate_series(current_date - 30, current_date, interval '1 day') AS d
LEFT JOIN orders o ON o.created_at::date = d::date GROUP BY 1 ORDER BY 1
-- case: analytics-json | policy: read-only | expect: allow
SELECT payload->>'event' AS event, jsonb_agg(payload->'props') FROM events
WHERE payload @> '{"source": "web"}' GROUP BY 1
-- case: analytics-union-exists-case | policy: read-only | expect: allow
SELECT id, CASE WHEN total > 100 THEN 'big' ELSE 'small' END FROM orders WHERE EXISTS (SELECT 1 FROM refunds r WHERE r.order_id = orders.id)
UNION ALL
SELECT id, 'archived' FROM orders_archive WHERE created_at > now() - interval '1 year'
-- case: analytics-string-agg-schema-qualified | policy: read-only | expect: allow
SELECT string_agg(name, ', ' ORDER BY name) FROM reporting.daily_signups WHERE day = current_date - 1
-- case: analytics-explain | policy: read-only | expect: allow
EXPLAIN SELECT * FROM orders WHERE customer_id = 17
-- case: analytics-explain-analyze-select | policy: read-only | expect: allow
EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT count(*) FROM orders
-- case: analytics-explain-delete-plan-only | policy: read-only | expect: allow
EXPLAIN DELETE FROM orders WHERE id = 1
-- case: analytics-cursor | policy: read-only | expect: allow
BEGIN; DECLARE big CURSOR FOR SELECT * FROM events; FETCH 1000 FROM big; CLOSE big; COMMIT
-- case: analytics-prepared-select | policy: read-only | expect: allow
PREPARE by_customer (int) AS SELECT * FROM orders WHERE customer_id = $1
-- case: analytics-deallocate | policy: read-only | expect: allow
DEALLOCATE by_customer
-- case: literal-that-looks-dangerous | policy: read-only | expect: allow
SELECT 'DROP TABLE orders; DELETE FROM orders' AS joke, $$pg_read_file('/etc/passwd')$$ AS quoted
-- case: comment-that-looks-dangerous | policy: read-only | expect: allow
SELECT 1 -- ; DROP TABLE orders
-- case: column-named-like-a-table | policy: read-only | expect: allow
SELECT o.secrets_count FROM orders o WHERE o.id = 1
-- case: cte-named-secrets | policy: read-only | expect: allow
WITH secrets AS (SELECT id FROM orders) SELECT * FROM secrets
-- case: psql-describe | policy: read-only | expect: allow
SELECT n.nspname as "Schema", c.relname as "Name"
FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r','p','v','m','S','f','') AND n.nspname <> 'pg_catalog'
  AND n.nspname !~ '^pg_toast' AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;
-- case: information-schema | policy: read-only | expect: allow
SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'public'
-- case: driver-version-and-show | policy: read-only | expect: allow
SELECT version(); SHOW server_version; SHOW TRANSACTION ISOLATION LEVEL
-- case: driver-session-settings | policy: read-only | expect: allow
SET application_name = 'billing-worker'; SET extra_float_digits = 3; SET TIME ZONE 'UTC'
-- case: driver-statement-timeout | policy: read-only | expect: allow
SET statement_timeout = '30s'
-- case: driver-discard | policy: standard | expect: allow
DISCARD ALL
-- case: listen | policy: read-only | expect: allow
LISTEN orders_changed
-- case: regex-with-backslashes | policy: read-only | expect: allow
SELECT id FROM customers WHERE phone ~ '^\+\d{2} ' AND email LIKE '%\_%' ESCAPE '\'
-- case: query-to-xml-of-a-report | policy: read-only | expect: allow
SELECT query_to_xml('SELECT day, total FROM reporting.daily_totals', true, false, '')
-- case: empty-text | policy: read-only | expect: allow

