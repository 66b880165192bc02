"""When a worker restarts to follow the registry."""

from streams.follow import topics_to_follow


def test_a_new_force_is_followed_once_its_topic_exists() -> None:
    subscribed = ["cjs.ingest.01.v1"]
    wanted = ["cjs.ingest.01.v1", "cjs.ingest.05.v1"]
    assert topics_to_follow(subscribed, wanted, existing=["cjs.ingest.01.v1"]) == []
    assert topics_to_follow(subscribed, wanted, existing=[*wanted, "other"]) == ["cjs.ingest.05.v1"]


def test_removing_a_force_does_not_restart_the_worker() -> None:
    assert topics_to_follow(["a", "b"], ["a"], existing=["a", "b"]) == []
