-- Delete every subscription of the source (Scripts.purge_subscriptions);
-- ARGV[3] is the source.
-- Unlinking takes the server constant time whatever the keys hold. The
-- source may stay in ``due`` until gc() visits it and finds nothing.
redis.call('UNLINK', Q.subscriptions, Q.subscribers, Q.subscription_ids,
           Q.subscription_expiry)
return 0
