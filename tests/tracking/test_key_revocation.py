"""A write key revoked while the server runs is refused from the next call on (issue 9, item 21:
the verified-key cache is the hub's, not a module's, and a revocation forgets the key)."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import httpx
from tests.cli.test_finding_the_shop import env_without_data_dir, popen, run
from tests.cli.test_server_and_cli import wait_healthy
from tests.support import free_port

from userops.auth.keycache import KEY_CACHE_SECONDS, KeyCache


def test_a_key_revoked_through_the_cli_is_refused_by_the_running_server_at_once(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "data"
    env = env_without_data_dir()
    assert run("init", "--data-dir", str(data_dir), cwd=tmp_path, env=env).returncode == 0
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = popen("serve", "--port", str(port), "--data-dir", str(data_dir))
    try:
        wait_healthy(url, server)
        made = run(
            "keys", "create", "--scope", "write", "--json", "--data-dir", str(data_dir),
            cwd=tmp_path, env=env,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        key = json.loads(made.stdout)["key"]
        prefix = "_".join(key.split("_", 3)[:3])
        body = {"userId": "u1", "event": "Viewed"}
        first = httpx.post(f"{url}/v1/track", json=body, auth=(key, ""), timeout=10)
        assert first.status_code == 200, first.text  # verified, and now cached
        revoked = run("keys", "revoke", prefix, "--data-dir", str(data_dir), cwd=tmp_path, env=env)
        assert revoked.returncode == 0, revoked.stdout + revoked.stderr
        started = time.monotonic()
        after = httpx.post(f"{url}/v1/track", json=body, auth=(key, ""), timeout=10)
        # well inside the cache's lifetime: the cached verification was forgotten
        assert time.monotonic() - started < KEY_CACHE_SECONDS
        assert after.status_code == 403, after.text
        assert after.json()["error"]["field"] == "authorization"
        listed = run("keys", "list", "--json", "--data-dir", str(data_dir), cwd=tmp_path, env=env)
        assert [k["revoked_at"] is not None for k in json.loads(listed.stdout)] == [True]
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def test_a_verification_racing_a_revocation_is_not_cached() -> None:
    cache = KeyCache()
    assert cache.lookup("k1") == (None, 0)
    _, generation = cache.lookup("k1")
    cache.forget("uo_w_1")  # revoked while k1 was being verified
    cache.remember("k1", "uo_w_1", generation)
    assert cache.lookup("k1")[0] is None
    _, generation = cache.lookup("k2")
    cache.remember("k2", "uo_w_2", generation)
    assert cache.lookup("k2")[0] == "uo_w_2"
    cache.forget("uo_w_2")
    assert cache.lookup("k2")[0] is None


def test_cached_keys_expire_after_the_documented_bound() -> None:
    cache = KeyCache(seconds=0.2)
    _, generation = cache.lookup("k")
    cache.remember("k", "uo_w_1", generation)
    assert cache.lookup("k")[0] == "uo_w_1"
    time.sleep(0.3)
    assert cache.lookup("k")[0] is None
