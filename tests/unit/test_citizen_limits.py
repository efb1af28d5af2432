"""The residents' token bucket and the public page cache, without a server."""

import pytest

from services.common.limits import TokenBucket
from services.common.public_cache import PageCache
from shared.config import get_settings


def test_the_bucket_lets_a_burst_through_then_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2.0, burst=3)
    assert [bucket.take("a", at=100.0) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert bucket.take("a", at=100.0) == pytest.approx(0.5)  # next token in half a second
    assert bucket.take("b", at=100.0) == 0.0  # every client has its own bucket
    assert bucket.take("a", at=100.6) == 0.0
    assert bucket.take("a", at=100.6) > 0
    bucket.configure(rate=0, burst=1)
    assert all(bucket.take("a", at=100.6) == 0.0 for _ in range(100))  # rate 0: off


def test_an_expired_page_is_refreshed_by_one_request_while_the_others_get_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "public_server_cache_seconds", 2.0)
    clock = [1000.0]
    monkeypatch.setattr("services.common.public_cache.time.monotonic", lambda: clock[0])
    cache = PageCache()
    assert cache.get_or_claim("/p?x") is None  # nothing yet: ask the route
    cache.put("/p?x", b"[1]", '"a"')
    assert cache.get_or_claim("/p?x") == (b"[1]", '"a"')
    clock[0] += 3
    assert cache.get_or_claim("/p?x") is None  # expired: this request refreshes …
    assert cache.get_or_claim("/p?x") == (b"[1]", '"a"')  # … the others still get the old page
    cache.refreshing.discard("/p?x")
    cache.put("/p?x", b"[2]", '"b"')
    assert cache.get_or_claim("/p?x") == (b"[2]", '"b"')
    cache.clear()
    assert cache.get_or_claim("/p?x") is None
    monkeypatch.setattr(get_settings(), "public_server_cache_seconds", 0.0)
    cache.put("/p?x", b"[3]", '"c"')
    assert cache.pages == {}  # 0 turns the cache off
