"""A worker survives losing its Redis broker while a BRPOP is in flight and a message is not yet
acknowledged (acks_late): syncsvc/celery.py's patch of kombu's redis Channel.close. The loss goes
through Celery's own handler (`Consumer.on_connection_error_after_connected`) against a real
redis-server of our own that the test kills, so nothing here touches the shared Redis."""

import shutil
import time
import types
import warnings

import pytest
from celery.exceptions import CPendingDeprecationWarning
from celery.worker.consumer.consumer import Consumer
from kombu import Connection, Exchange, Queue
from kombu import Consumer as KombuConsumer
from kombu.transport import redis as kombu_redis

from syncsvc import celery as syncsvc_celery
from tests.synclog.worker_harness import own_redis

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None,
    reason="needs the redis-server binary to run a broker the test can kill",
)


@pytest.fixture
def broker(tmp_path):
    with own_redis(tmp_path) as server:
        yield server


def connection_lost_mid_brpop(broker) -> tuple[Connection, kombu_redis.Channel]:
    """A worker's connection as it is when Redis dies under a busy worker: on its default channel
    one task delivered and not acknowledged, a BRPOP for the next one in flight; on a second
    channel the remote-control consumer (an auto-delete fanout queue, as Celery's pidbox); then
    the server is killed."""
    connection = Connection(broker.url)
    channel = connection.default_channel
    tasks = Queue("loss", Exchange("loss"), "loss")
    connection.Producer().publish({"n": 1}, routing_key="loss", declare=[tasks])
    delivered = []
    consumer = KombuConsumer(channel, queues=[tasks], accept=["json"])
    consumer.register_callback(lambda body, message: delivered.append(message))
    channel.basic_qos(prefetch_count=2)
    consumer.consume()
    control = Queue("loss.pidbox", Exchange("loss.pidbox", type="fanout"), auto_delete=True)
    KombuConsumer(connection.channel(), queues=[control], accept=["json"]).consume()
    deadline = time.monotonic() + 5
    while not delivered:  # the control channel's events may come first; socket.timeout at 5 s
        connection.drain_events(timeout=max(deadline - time.monotonic(), 0.01))
    assert len(delivered) == 1 and not delivered[0].acknowledged
    channel._brpop_start()  # what the worker's event loop does while it has room for more
    assert channel._in_poll and channel.qos._delivered
    broker.crash()
    return connection, channel


def lose_the_connection(connection: Connection) -> types.SimpleNamespace:
    """Celery's handler of a lost connection, on a stand-in for the worker's consumer (the
    attributes that handler reads; no cancel-on-loss, per-consumer QoS)."""
    consumer = types.SimpleNamespace(
        connection=connection,
        app=syncsvc_celery.app,
        pool=None,
        qos_global=False,
        max_prefetch_count=2,
        prefetch_multiplier=1,
        initial_prefetch_count=2,
    )
    with warnings.catch_warnings():  # Celery's notice about cancel-on-loss, which we leave off
        warnings.simplefilter("ignore", CPendingDeprecationWarning)
        Consumer.on_connection_error_after_connected(consumer, ConnectionError("lost"))
    return consumer


def test_a_worker_survives_losing_redis_with_a_message_unacknowledged(broker):
    connection, channel = connection_lost_mid_brpop(broker)

    consumer = lose_the_connection(connection)  # raised AttributeError ('hostname') before

    assert consumer.connection is None  # ready for blueprint.restart() to connect again
    assert channel.closed
    # The first close went through: it tried to restore the unacknowledged message (no broker
    # to take it: it waits in Redis's unacked index, or went with an empty restart), and did not
    # leave the channel open for the second close to trip over.
    assert channel.qos._delivered.restored


def test_kombu_still_needs_the_patch(broker, monkeypatch):
    """Without the patch the same loss kills the worker. When this fails, kombu closes such a
    channel itself: drop the patch from syncsvc/celery.py and this test."""
    monkeypatch.setattr(kombu_redis.Channel, "close", syncsvc_celery._kombu_redis_channel_close)
    connection, _ = connection_lost_mid_brpop(broker)

    with pytest.raises(AttributeError, match="hostname"):
        lose_the_connection(connection)
