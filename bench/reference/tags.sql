-- Hand-written DuckDB SQL for the customer-system tags (docs/tags.md), the reference that
-- bench/tags.py measures userops against. Parameters: $t (TIMESTAMPTZ as-of instant).
-- Default settings: 30/30/90/180 days, mean reference, ¥300/¥100, 180-day frequency, KOL 3/5/365.
CREATE OR REPLACE TEMP TABLE ref_tags AS
WITH people AS (
  SELECT customer_id, signup_at, referrer_id, gender, province, city, birthday, interests
  FROM customers WHERE merged_into IS NULL
),
merged AS (SELECT customer_id AS mid, merged_into AS into_id FROM customers),
ev AS (
  SELECT coalesce(m.into_id, r.cid) AS customer_id, r.ts
  FROM (
    SELECT coalesce(u.customer_id, e.user_id, a.customer_id) AS cid, e."timestamp" AS ts
    FROM events e
    LEFT JOIN identities u ON u.kind = 'user_id' AND u.value = e.user_id
    LEFT JOIN identities a ON a.kind = 'anonymous_id' AND a.value = e.anonymous_id
    WHERE e."timestamp" < $t
  ) r LEFT JOIN merged m ON m.mid = r.cid
  WHERE r.cid IS NOT NULL
),
paid AS (
  SELECT coalesce(m.into_id, o.customer_id) AS customer_id, o.paid_at, o.amount_fen
  FROM orders o LEFT JOIN merged m ON m.mid = o.customer_id
  WHERE o.status = 'paid' AND o.paid_at IS NOT NULL AND o.paid_at < $t
),
act AS (SELECT customer_id, paid_at AS ts FROM paid UNION ALL SELECT customer_id, ts FROM ev),
per AS (
  SELECT customer_id, min(ts) AS first_act, max(ts) AS last_act,
         min(ts) FILTER (WHERE ts >= $t - INTERVAL 30 DAY) AS f
  FROM act GROUP BY customer_id
),
prior AS (
  SELECT a.customer_id, max(a.ts) AS p FROM act a JOIN per USING (customer_id)
  WHERE a.ts < per.f GROUP BY a.customer_id
),
life AS (
  SELECT p.customer_id, least(p.signup_at, per.first_act) AS first_seen, per.last_act, per.f,
         prior.p
  FROM people p LEFT JOIN per USING (customer_id) LEFT JOIN prior USING (customer_id)
  WHERE p.signup_at IS NULL OR p.signup_at < $t
),
lifecycle AS (
  SELECT customer_id,
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
  SELECT customer_id, floor((epoch($t) - epoch(max(paid_at))) / 86400)::BIGINT AS r,
         count(*) AS f, sum(amount_fen) AS m
  FROM paid WHERE customer_id IN (SELECT customer_id FROM people) GROUP BY customer_id
),
cuts AS (
  SELECT quantile_cont(r, [0.2, 0.4, 0.6, 0.8]) AS rc, quantile_cont(f, [0.2, 0.4, 0.6, 0.8]) AS fc,
         quantile_cont(m, [0.2, 0.4, 0.6, 0.8]) AS mc, avg(r) AS ra, avg(f) AS fa, avg(m) AS ma
  FROM rfm
),
scored AS (
  SELECT rfm.*,
    5 - ((r > rc[1])::INT + (r > rc[2])::INT + (r > rc[3])::INT + (r > rc[4])::INT) AS rs,
    1 + (f > fc[1])::INT + (f > fc[2])::INT + (f > fc[3])::INT + (f > fc[4])::INT AS fs,
    1 + (m > mc[1])::INT + (m > mc[2])::INT + (m > mc[3])::INT + (m > mc[4])::INT AS ms,
    r < ra AS rh, f > fa AS fh, m > ma AS mh
  FROM rfm, cuts
),
rfm_tags AS (
  SELECT customer_id, rs, fs, ms,
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
    CASE WHEN m >= f * 30000 THEN 'high' WHEN m < f * 10000 THEN 'low' ELSE 'mid' END AS aov_tier
  FROM scored
),
freq AS (
  SELECT customer_id, count(*) AS n FROM paid WHERE paid_at >= $t - INTERVAL 180 DAY
  GROUP BY customer_id
),
referred AS (
  SELECT customer_id AS referee, referrer_id AS referrer FROM people
  WHERE referrer_id IS NOT NULL AND signup_at >= $t - INTERVAL 365 DAY AND signup_at < $t
),
kol AS (
  SELECT referrer AS customer_id, count(DISTINCT referee) AS referrals,
         count(paid.paid_at) FILTER (WHERE paid.paid_at >= $t - INTERVAL 365 DAY) AS attributed
  FROM referred LEFT JOIN paid ON paid.customer_id = referred.referee GROUP BY referrer
)
SELECT l.customer_id, l.lifecycle, t.rfm_cn, t.rfm_segment, t.aov_tier,
  CASE WHEN p.birthday IS NULL THEN NULL
       WHEN date_sub('year', p.birthday, $t::DATE) < 18 THEN '<18'
       WHEN date_sub('year', p.birthday, $t::DATE) < 25 THEN '18-24'
       WHEN date_sub('year', p.birthday, $t::DATE) < 30 THEN '25-29'
       WHEN date_sub('year', p.birthday, $t::DATE) < 35 THEN '30-34'
       WHEN date_sub('year', p.birthday, $t::DATE) < 40 THEN '35-39'
       WHEN date_sub('year', p.birthday, $t::DATE) < 50 THEN '40-49' ELSE '50+' END AS age_band,
  p.gender, p.province, ct.tier AS city_tier, month(p.birthday) AS birthday_month, p.interests,
  CASE WHEN coalesce(freq.n, 0) = 0 THEN '0' WHEN freq.n = 1 THEN '1' WHEN freq.n <= 5 THEN '2-5'
       ELSE '6+' END AS order_frequency,
  CASE WHEN coalesce(kol.referrals, 0) >= 3 OR coalesce(kol.attributed, 0) >= 5 THEN 'kol'
       ELSE 'ordinary' END AS value
FROM lifecycle l LEFT JOIN rfm_tags t USING (customer_id) LEFT JOIN freq USING (customer_id)
LEFT JOIN kol USING (customer_id) LEFT JOIN people p USING (customer_id)
LEFT JOIN ref_city_tiers ct ON ct.tier_city = regexp_replace(p.city, '市$', '');
