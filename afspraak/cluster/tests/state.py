"""Check that the state the app nodes share lives where every node sees it: Redis."""


def check_redis_holds_the_cache_counters_and_the_job_queue(cluster):
    client = cluster.redis.client(cluster.redis.primary())
    keys = [key.decode() for key in client.scan_iter(count=1000)]
    commands = client.info("commandstats")

    # Django's cache (rate-limit and used-TOTP counters): its keys read ":<version>:<key>".
    assert any(key.startswith(":1:") and "allauth" in key for key in keys), keys
    # Huey's queue: the nodes pushed jobs (after each booking) and the consumer took them.
    assert commands["cmdstat_lpush"]["calls"] > 0, commands
    assert commands.get("cmdstat_brpop", commands.get("cmdstat_rpop", {})).get("calls", 0) > 0
