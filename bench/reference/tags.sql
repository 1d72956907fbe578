-- The fastest hand-written DuckDB SQL we know for the customer-system tags (docs/tags.md): the
-- reference bench/tags.py measures userops against. Parameter: $t (TIMESTAMPTZ as-of instant).
-- Default settings: 30/30/90/180 days, mean reference, ¥300/¥100, 180-day frequency, KOL 3/5/365.
-- It produces every column of customer_tag_values, and bench/tags.py checks it row-identical
-- to what userops stored in the same run.
--
-- Why it is fast (see bench/README.md):
-- 1. Events are read once and aggregated per raw key before anyone is resolved: the key is the
--    user_id, or the anonymous_id of a message without one (a person depends on nothing else),
--    so the identity joins run on ~1 row per key instead of one per event.
-- 2. "Last activity before the first activity of the window" is one filtered max: nothing lies
--    between the window start and the first activity in it, so it is max(ts) FILTER (ts < start),
--    computed in the same pass, not a second pass joining all activity back to its person.
-- 3. Orders are read once too, every figure (RFM, 180-day frequency, 365-day attributed orders,
--    first/last activity) as a filtered aggregate of the same pass, merged ids folded after.
CREATE OR REPLACE TEMP TABLE ref_tags AS
WITH ev_keys AS (
  SELECT user_id, CASE WHEN user_id IS NULL THEN anonymous_id END AS anon,
         min("timestamp") AS first_at, max("timestamp") AS last_at,
         min("timestamp") FILTER (WHERE "timestamp" >= $t - INTERVAL 30 DAY) AS first_recent,
         max("timestamp") FILTER (WHERE "timestamp" < $t - INTERVAL 30 DAY) AS last_before
  FROM events WHERE "timestamp" < $t
  GROUP BY ALL
),
ev_people AS (
  SELECT coalesce(s.merged_into, r.raw) AS customer_id, r.first_at, r.last_at, r.first_recent,
         r.last_before
  FROM (
    SELECT coalesce(u.customer_id, k.user_id, a.customer_id) AS raw, k.*
    FROM ev_keys k
    LEFT JOIN identities u ON u.kind = 'user_id' AND u.value = k.user_id
    LEFT JOIN identities a ON a.kind = 'anonymous_id' AND a.value = k.anon
  ) r LEFT JOIN customers s ON s.customer_id = r.raw
  WHERE r.raw IS NOT NULL
),
ord_keys AS (
  SELECT customer_id, min(paid_at) AS first_at, max(paid_at) AS last_at,
         min(paid_at) FILTER (WHERE paid_at >= $t - INTERVAL 30 DAY) AS first_recent,
         max(paid_at) FILTER (WHERE paid_at < $t - INTERVAL 30 DAY) AS last_before,
         count(*) AS n, sum(amount_fen) AS m,
         count(*) FILTER (WHERE paid_at >= $t - INTERVAL 180 DAY) AS n180,
         count(*) FILTER (WHERE paid_at >= $t - INTERVAL 365 DAY) AS n365
  FROM orders WHERE status = 'paid' AND paid_at < $t
  GROUP BY customer_id
),
ord_people AS (
  SELECT coalesce(s.merged_into, k.customer_id) AS customer_id, min(k.first_at) AS first_at,
         max(k.last_at) AS last_at, min(k.first_recent) AS first_recent,
         max(k.last_before) AS last_before, sum(k.n) AS n, sum(k.m) AS m, sum(k.n180) AS n180,
         sum(k.n365) AS n365
  FROM ord_keys k LEFT JOIN customers s ON s.customer_id = k.customer_id
  GROUP BY 1
),
act AS (
  SELECT customer_id, min(first_at) AS first_act, max(last_at) AS last_act,
         min(first_recent) AS f, max(last_before) AS p
  FROM (
    SELECT customer_id, first_at, last_at, first_recent, last_before FROM ev_people
    UNION ALL
    SELECT customer_id, first_at, last_at, first_recent, last_before FROM ord_people
  ) GROUP BY customer_id
),
people AS (
  SELECT customer_id, signup_at, referrer_id, gender, province, city, birthday, interests
  FROM customers WHERE merged_into IS NULL
),
life AS (
  SELECT p.customer_id, least(p.signup_at, a.first_act) AS first_seen, a.last_act, a.f, a.p
  FROM people p LEFT JOIN act a USING (customer_id)
  WHERE p.signup_at IS NULL OR p.signup_at < $t
),
lifecycle AS (
  SELECT customer_id, first_seen, last_act AS last_active_at,
    CASE
      WHEN first_seen >= $t - INTERVAL 30 DAY THEN 'new'
      WHEN last_act >= $t - INTERVAL 30 DAY THEN
        CASE WHEN (p IS NOT NULL AND f >= p + INTERVAL 90 DAY)
               OR (p IS NULL AND f >= first_seen + INTERVAL 90 DAY) THEN 'returning'
             ELSE 'active' END
      WHEN coalesce(last_act, first_seen) >= $t - INTERVAL 180 DAY THEN 'silent'
      ELSE 'churned'
    END AS lifecycle
  FROM life WHERE first_seen IS NOT NULL
),
rfm AS (
  SELECT o.customer_id, floor((epoch($t) - epoch(o.last_at)) / 86400)::BIGINT AS r,
         o.n AS f, o.m
  FROM ord_people o SEMI JOIN people p ON p.customer_id = o.customer_id
),
cuts AS (
  SELECT quantile_cont(r::DOUBLE, [0.2, 0.4, 0.6, 0.8]) AS rc,
         quantile_cont(f::DOUBLE, [0.2, 0.4, 0.6, 0.8]) AS fc,
         quantile_cont(m::DOUBLE, [0.2, 0.4, 0.6, 0.8]) AS mc,
         avg(r::DOUBLE) AS ra, avg(f::DOUBLE) AS fa, avg(m::DOUBLE) AS ma
  FROM rfm
),
scored AS (
  SELECT rfm.customer_id, rfm.r, rfm.f, rfm.m,
    5 - ((r > rc[1])::INT + (r > rc[2])::INT + (r > rc[3])::INT + (r > rc[4])::INT) AS rs,
    1 + (f > fc[1])::INT + (f > fc[2])::INT + (f > fc[3])::INT + (f > fc[4])::INT AS fs,
    1 + (m > mc[1])::INT + (m > mc[2])::INT + (m > mc[3])::INT + (m > mc[4])::INT AS ms,
    r < ra AS rh, f > fa AS fh, m > ma AS mh
  FROM rfm, cuts
),
rfm_tags AS (
  SELECT customer_id, r, f, m, rs, fs, ms,
    CASE WHEN mh THEN 'important_' ELSE 'general_' END ||
    CASE WHEN rh AND fh THEN 'value' WHEN rh THEN 'development' WHEN fh THEN 'retention'
         ELSE 'winback' END AS rfm_cn,
    CASE
      WHEN rs BETWEEN 4 AND 5 AND (fs + ms + 1) // 2 BETWEEN 4 AND 5 THEN 'champions'
      WHEN rs BETWEEN 3 AND 5 AND (fs + ms + 1) // 2 BETWEEN 3 AND 5 THEN 'loyal'
      WHEN rs = 1 AND (fs + ms + 1) // 2 BETWEEN 4 AND 5 THEN 'cannot_lose'
      WHEN rs BETWEEN 1 AND 2 AND (fs + ms + 1) // 2 BETWEEN 3 AND 5 THEN 'at_risk'
      WHEN rs = 5 AND (fs + ms + 1) // 2 = 1 THEN 'new_customers'
      WHEN rs BETWEEN 4 AND 5 AND (fs + ms + 1) // 2 BETWEEN 2 AND 3 THEN 'potential_loyalist'
      WHEN rs BETWEEN 3 AND 4 AND (fs + ms + 1) // 2 = 1 THEN 'promising'
      WHEN rs = 3 AND (fs + ms + 1) // 2 BETWEEN 2 AND 3 THEN 'need_attention'
      WHEN rs = 2 AND (fs + ms + 1) // 2 BETWEEN 1 AND 2 THEN 'about_to_sleep'
      WHEN rs BETWEEN 1 AND 2 AND (fs + ms + 1) // 2 = 2 THEN 'hibernating'
      WHEN rs BETWEEN 1 AND 2 AND (fs + ms + 1) // 2 = 1 THEN 'lost'
      ELSE 'need_attention' END AS rfm_segment,
    m // f AS aov_fen,
    CASE WHEN m >= f * 30000 THEN 'high' WHEN m < f * 10000 THEN 'low' ELSE 'mid' END AS aov_tier
  FROM scored
),
referred AS (
  SELECT customer_id AS referee, referrer_id AS referrer FROM people
  WHERE referrer_id IS NOT NULL AND signup_at >= $t - INTERVAL 365 DAY AND signup_at < $t
),
kol AS (
  SELECT r.referrer AS customer_id, count(*) AS referrals, coalesce(sum(o.n365), 0) AS attributed
  FROM referred r LEFT JOIN ord_people o ON o.customer_id = r.referee
  GROUP BY r.referrer
)
SELECT l.customer_id, $t AS as_of, l.first_seen, l.last_active_at, l.lifecycle,
  t.r AS recency_days, t.f AS frequency, t.m AS monetary_fen, t.rs AS r_score, t.fs AS f_score,
  t.ms AS m_score, t.rfm_cn, t.rfm_segment, t.aov_fen, t.aov_tier,
  coalesce(o.n180, 0) AS orders_in_window,
  CASE WHEN coalesce(o.n180, 0) = 0 THEN '0' WHEN o.n180 = 1 THEN '1' WHEN o.n180 <= 5 THEN '2-5'
       ELSE '6+' END AS order_frequency,
  coalesce(kol.referrals, 0) AS referrals, coalesce(kol.attributed, 0) AS attributed_orders,
  CASE WHEN coalesce(kol.referrals, 0) >= 3 OR coalesce(kol.attributed, 0) >= 5 THEN 'kol'
       ELSE 'ordinary' END AS value,
  CASE WHEN p.birthday IS NULL THEN NULL
       WHEN date_sub('year', p.birthday, $d) < 18 THEN '<18'
       WHEN date_sub('year', p.birthday, $d) < 25 THEN '18-24'
       WHEN date_sub('year', p.birthday, $d) < 30 THEN '25-29'
       WHEN date_sub('year', p.birthday, $d) < 35 THEN '30-34'
       WHEN date_sub('year', p.birthday, $d) < 40 THEN '35-39'
       WHEN date_sub('year', p.birthday, $d) < 50 THEN '40-49' ELSE '50+' END AS age_band,
  p.gender, p.province, ct.tier AS city_tier, month(p.birthday) AS birthday_month, p.interests
FROM lifecycle l JOIN people p USING (customer_id)
LEFT JOIN rfm_tags t USING (customer_id) LEFT JOIN ord_people o USING (customer_id)
LEFT JOIN kol USING (customer_id)
LEFT JOIN ref_city_tiers ct ON ct.tier_city = regexp_replace(p.city, '市$', '');
