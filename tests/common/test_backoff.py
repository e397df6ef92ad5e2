import random

from common.backoff import backoff_delay


def test_backoff_grows_then_stays_under_the_cap():
    rand = random.Random(7)
    ceilings = [min(30.0, 0.5 * 2 ** n) for n in range(12)]
    for attempt, ceiling in enumerate(ceilings):
        for _ in range(50):
            delay = backoff_delay(attempt, rand=rand)
            assert 0.1 * ceiling <= delay <= ceiling
    assert backoff_delay(10_000, rand=rand) <= 30.0
